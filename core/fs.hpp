#pragma once
// Atomic file-system writes: nothing a user already has is lost or left half-written.

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace metaeik::core {

/// A unique temporary sibling of `path` (same directory, so rename() is atomic).
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

/// Calls `write(tmp)` to produce a file at a temporary sibling path, then renames it over `path`.
/// If `write` throws, the temporary file is removed and `path` is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

/// Stream flavour of write_atomically for text/binary writers.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write,
                           bool binary = false);

/// For resuming a training run: rewrites the CSV log at `path` (atomically) keeping its header and the
/// rows whose integer column `column` (0-based) is ≤ `last`, the rows its checkpoint covers. Rows after
/// the checkpoint (written before a kill that came ahead of the next checkpoint) and a torn last line
/// are dropped, so the resumed run writes each row once. A missing file is left missing.
void trim_log(const std::filesystem::path& path, int column, long long last);

/// A directory built under a temporary name and renamed to its final name by commit().
/// If destroyed before commit() (error, interrupt unwinding) the temporary directory is removed.
/// An existing target is refused unless `overwrite` is true (then replaced on commit()).
class AtomicDirectory {
 public:
  AtomicDirectory(std::filesystem::path target, bool overwrite);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  /// Where to write the contents until commit().
  const std::filesystem::path& path() const { return tmp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path tmp_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace metaeik::core
