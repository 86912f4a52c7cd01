#include "core/fs.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "core/error.hpp"

namespace metaeik::core {

namespace fs = std::filesystem;

fs::path temporary_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  fs::path p = path;
  p += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  return p;
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  if (path.has_parent_path()) {
    METAEIK_CHECK(fs::is_directory(path.parent_path()), path.string() << ": cannot write, directory "
                                                                      << path.parent_path().string()
                                                                      << " does not exist");
  }
  const fs::path tmp = temporary_sibling(path);
  try {
    write(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    METAEIK_CHECK(!ec, path.string() << ": cannot write (" << ec.message() << ")");
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write,
                           bool binary) {
  write_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, binary ? std::ios::binary : std::ios::out);
    METAEIK_CHECK(out, path.string() << ": cannot open for writing");
    write(out);
    out.flush();
    METAEIK_CHECK(out, path.string() << ": write failed");
  });
}

void trim_log(const fs::path& path, int column, long long last) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  if (std::getline(in, line)) kept = line + "\n";
  while (std::getline(in, line)) {
    std::size_t start = 0;
    for (int c = 0; c < column && start != std::string::npos; ++c) {
      start = line.find(',', start);
      if (start != std::string::npos) ++start;
    }
    if (start == std::string::npos || !in.good()) continue;  // too few columns, or no newline: torn
    const char* first = line.c_str() + start;
    char* end = nullptr;
    const long long value = std::strtoll(first, &end, 10);
    if (end != first && (*end == ',' || *end == '\0') && value <= last) kept += line + "\n";
  }
  write_file_atomically(path, [&](std::ostream& os) { os << kept; });
}

AtomicDirectory::AtomicDirectory(fs::path target, bool overwrite)
    : target_(std::move(target)), tmp_(temporary_sibling(target_)), overwrite_(overwrite) {
  METAEIK_CHECK(overwrite_ || !fs::exists(target_), target_.string()
                                                        << ": already exists (use --force to overwrite)");
  if (target_.has_parent_path() && !target_.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(target_.parent_path(), ec);
    METAEIK_CHECK(!ec, target_.parent_path().string()
                           << ": cannot create directory (" << ec.message() << ")");
  }
  std::error_code ec;
  fs::create_directory(tmp_, ec);
  METAEIK_CHECK(!ec, tmp_.string() << ": cannot create directory (" << ec.message() << ")");
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

void AtomicDirectory::commit() {
  std::error_code ec;
  if (fs::exists(target_)) {
    METAEIK_CHECK(overwrite_, target_.string() << ": already exists (use --force to overwrite)");
    // Move the old one aside first so a failure in between never leaves neither.
    const fs::path old = temporary_sibling(target_);
    fs::rename(target_, old, ec);
    METAEIK_CHECK(!ec, target_.string() << ": cannot replace (" << ec.message() << ")");
    fs::rename(tmp_, target_, ec);
    METAEIK_CHECK(!ec, target_.string()
                           << ": cannot rename " << tmp_.string() << " (" << ec.message() << ")");
    fs::remove_all(old, ec);
  } else {
    fs::rename(tmp_, target_, ec);
    METAEIK_CHECK(!ec, target_.string()
                           << ": cannot rename " << tmp_.string() << " (" << ec.message() << ")");
  }
  committed_ = true;
}

}  // namespace metaeik::core
