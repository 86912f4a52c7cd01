#pragma once
// Test helpers: run the `metaeikonal` CLI and capture its exit code and output.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace metaeik::test {

struct CliResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs `metaeikonal ARGS 2>&1` (ARGS is passed to the shell as is).
inline CliResult run_cli(const std::string& args) {
  CliResult r;
  const std::string cmd = std::string(METAEIK_CLI) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A fresh, empty temporary directory for one test, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("metaeik_test_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!std::getenv("METAEIK_KEEP_TEST_FILES")) std::filesystem::remove_all(path_);  // keep for inspection
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& f) const { return path_ / f; }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path source_dir() { return METAEIK_SOURCE_DIR; }

}  // namespace metaeik::test
