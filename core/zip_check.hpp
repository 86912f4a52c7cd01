#pragma once
// Integrity check of a stored (uncompressed) zip archive, the container LibTorch writes for .pt files.
// LibTorch's own reader trusts the archive and can crash on a damaged one, so every checkpoint is
// checked first: the end-of-central-directory record (zip64 too), every central-directory entry, its
// local header, and the CRC-32 of every entry's bytes, all bounds-checked against the file size.

#include <filesystem>

namespace metaeik::core {

/// Throws core::Error "<path>: damaged checkpoint archive (<what>)" unless `path` is a complete zip
/// archive of stored entries whose CRC-32s all match.
void check_zip_archive(const std::filesystem::path& path);

}  // namespace metaeik::core
