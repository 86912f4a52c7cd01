#pragma once
// Internal: line-by-line scanning of small text formats (openCARP .pts/.elem/.lon/.vtx) with
// one-line errors "<file>:<line>: <what>". Numbers are parsed with std::from_chars (no locale).

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace metaeik::geometry::detail {

class TextLines {
 public:
  /// Reads the whole file; a missing or unreadable file is an error naming it.
  explicit TextLines(const std::filesystem::path& path);

  /// The next line that is not blank (trailing '\r' removed); false at the end of the file.
  bool next(std::string_view& line);
  /// Bytes not yet scanned (what the rest of the file can hold).
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& name() const { return name_; }

  /// Throws core::Error "<file>:<line>: <what>" for the line last returned (or the one after the
  /// last line, at the end of the file).
  [[noreturn]] void fail(const std::string& what) const;

  /// Reads the count line: one integer in [0, 2³¹ − 1]; `what` names the entries ("points").
  std::size_t count(const char* what);
  /// How many of `n` declared entries, each at least `min_bytes` long, the rest of the file can
  /// hold: the most a reader may reserve, so that a corrupted count cannot cost memory.
  std::size_t capacity(std::size_t n, std::size_t min_bytes) const {
    return std::min(n, remaining() / min_bytes + 1);
  }

 private:
  std::string name_, bytes_;
  std::size_t pos_ = 0;
  int line_ = 0;
  bool at_end_ = false;
};

/// Splits `line` at blanks into at most `max` tokens; returns how many it found (max + 1 if
/// there are more).
int split(std::string_view line, std::string_view* tokens, int max);
/// Whole-token integer and floating-point parsing (a leading '+' is accepted).
bool parse_int(std::string_view token, long long& value);
bool parse_double(std::string_view token, double& value);
/// `text` quoted for a message: control bytes replaced by '?', cut after 40 characters.
std::string quoted(std::string_view text);

}  // namespace metaeik::geometry::detail
