#include "core/zip_check.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "core/error.hpp"

namespace metaeik::core {

namespace {

constexpr std::uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50;
constexpr std::uint32_t kEnd64 = 0x06064b50, kLocator64 = 0x07064b50;

/// Little-endian fields of the archive bytes; every read is bounds-checked.
struct Bytes {
  const std::string& s;
  const std::filesystem::path& path;
  [[noreturn]] void fail(const std::string& what) const {
    METAEIK_FAIL(path.string() << ": damaged checkpoint archive (" << what << ")");
  }
  std::uint64_t get(std::uint64_t at, int n) const {
    if (at > s.size() || std::uint64_t(n) > s.size() - at) fail("a record runs past the end of the file");
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
    return v;
  }
};

std::uint64_t crc(const Bytef* p, std::uint64_t n) {
  uLong sum = crc32(0L, Z_NULL, 0);
  for (std::uint64_t done = 0; done < n;) {  // zlib's lengths are 32-bit
    const uInt step = uInt(std::min<std::uint64_t>(n - done, 1u << 30));
    sum = crc32(sum, p + done, step);
    done += step;
  }
  return sum;
}

/// CRC-32 of the raw deflate stream's output, which must be exactly `usize` bytes from `csize` input
/// bytes; inflated in 64 KiB pieces (nothing allocated by the sizes the file claims).
template <class Fail>
std::uint64_t inflated_crc(const Bytef* in, std::uint64_t csize, std::uint64_t usize, const Fail& fail) {
  if (csize > 0xffffffffu) fail();
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail();
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = uInt(csize);
  std::string out(65536, '\0');
  uLong sum = crc32(0L, Z_NULL, 0);
  std::uint64_t total = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const uInt produced = uInt(out.size()) - z.avail_out;
    total += produced;
    if (total > usize || (rc == Z_OK && produced == 0 && z.avail_in == 0)) break;
    sum = crc32(sum, reinterpret_cast<const Bytef*>(out.data()), produced);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || total != usize) fail();
  return sum;
}

}  // namespace

void check_zip_archive(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  METAEIK_CHECK(in, path.string() << ": cannot open checkpoint");
  const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Bytes b{s, path};
  if (s.size() < 22) b.fail("too short for a zip archive");
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  std::uint64_t end = s.size() - 22;
  const std::uint64_t lowest = s.size() > 65557 ? s.size() - 65557 : 0;
  while (b.get(end, 4) != kEnd) {
    if (end == lowest) b.fail("no end-of-central-directory record");
    --end;
  }
  std::uint64_t entries = b.get(end + 10, 2), cd_size = b.get(end + 12, 4), cd_offset = b.get(end + 16, 4);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {  // zip64
    if (end < 20 || b.get(end - 20, 4) != kLocator64) b.fail("no zip64 locator");
    const std::uint64_t end64 = b.get(end - 12, 8);
    if (b.get(end64, 4) != kEnd64) b.fail("no zip64 end-of-central-directory record");
    entries = b.get(end64 + 32, 8), cd_size = b.get(end64 + 40, 8), cd_offset = b.get(end64 + 48, 8);
  }
  if (cd_offset > s.size() || cd_size > s.size() - cd_offset) b.fail("central directory outside the file");
  if (entries > cd_size / 46) b.fail("more entries than the central directory holds");
  std::uint64_t at = cd_offset;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (b.get(at, 4) != kCentral) b.fail("bad central-directory entry " + std::to_string(i));
    const std::uint64_t method = b.get(at + 10, 2), crc32_field = b.get(at + 16, 4);
    std::uint64_t csize = b.get(at + 20, 4), usize = b.get(at + 24, 4), offset = b.get(at + 42, 4);
    const std::uint64_t name = b.get(at + 28, 2), extra = b.get(at + 30, 2), comment = b.get(at + 32, 2);
    // Zip64 extended information: the 8-byte sizes and offset whose 4-byte fields are 0xffffffff.
    for (std::uint64_t x = at + 46 + name; x + 4 <= at + 46 + name + extra;) {
      const std::uint64_t id = b.get(x, 2), len = b.get(x + 2, 2);
      if (id == 1) {
        std::uint64_t f = x + 4;
        if (usize == 0xffffffff) usize = b.get(f, 8), f += 8;
        if (csize == 0xffffffff) csize = b.get(f, 8), f += 8;
        if (offset == 0xffffffff) offset = b.get(f, 8);
      }
      x += 4 + len;
    }
    if (b.get(offset, 4) != kLocal) b.fail("bad local header of entry " + std::to_string(i));
    const std::uint64_t data = offset + 30 + b.get(offset + 26, 2) + b.get(offset + 28, 2);
    if (data > s.size() || csize > s.size() - data)
      b.fail("entry " + std::to_string(i) + " runs past the end");
    const auto* bytes = reinterpret_cast<const Bytef*>(s.data() + data);
    std::uint64_t sum;
    if (method == 0) {
      if (csize != usize) b.fail("stored entry " + std::to_string(i) + " with two sizes");
      sum = crc(bytes, usize);
    } else if (method == 8) {  // LibTorch deflates its code entries
      sum = inflated_crc(bytes, csize, usize,
                         [&] { b.fail("bad deflate data in entry " + std::to_string(i)); });
    } else {
      b.fail("entry " + std::to_string(i) + " has compression method " + std::to_string(method));
    }
    if (sum != crc32_field) b.fail("CRC-32 mismatch in entry " + std::to_string(i));
    at += 46 + name + extra + comment;
  }
}

}  // namespace metaeik::core
