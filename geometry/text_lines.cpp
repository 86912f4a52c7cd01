#include "geometry/text_lines.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include "core/error.hpp"

namespace metaeik::geometry::detail {

namespace fs = std::filesystem;

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view strip_plus(std::string_view token) {
  if (token.size() > 1 && token[0] == '+' && token[1] != '-') token.remove_prefix(1);
  return token;
}

}  // namespace

TextLines::TextLines(const fs::path& path) : name_(path.string()) {
  std::error_code ec;
  METAEIK_CHECK(fs::exists(path, ec), name_ << ": file does not exist");
  METAEIK_CHECK(fs::is_regular_file(path, ec), name_ << ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  METAEIK_CHECK(in, name_ << ": cannot open for reading");
  bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  METAEIK_CHECK(!in.bad(), name_ << ": read failed");
}

bool TextLines::next(std::string_view& line) {
  if (at_end_) return false;
  while (pos_ < bytes_.size()) {
    const std::size_t end = std::min(bytes_.find('\n', pos_), bytes_.size());
    std::string_view l(bytes_.data() + pos_, end - pos_);
    pos_ = end + (end < bytes_.size() ? 1 : 0);
    ++line_;
    while (!l.empty() && is_blank(l.back())) l.remove_suffix(1);
    while (!l.empty() && is_blank(l.front())) l.remove_prefix(1);
    if (!l.empty()) {
      line = l;
      return true;
    }
  }
  at_end_ = true;  // errors at the end of the file name the line after the last one
  ++line_;
  return false;
}

void TextLines::fail(const std::string& what) const {
  throw core::Error(name_ + ":" + std::to_string(line_) + ": " + what, __FILE__, __LINE__);
}

std::size_t TextLines::count(const char* what) {
  std::string_view line;
  if (!next(line)) fail(std::string("file is empty (expected the number of ") + what + ")");
  std::string_view tok[2];
  long long n = -1;
  if (split(line, tok, 1) != 1 || !parse_int(tok[0], n) || n < 0)
    fail(std::string("expected the number of ") + what + ", got " + quoted(line));
  if (n > std::numeric_limits<int>::max())
    fail("declares " + std::to_string(n) + " " + what + ", more than the " +
         std::to_string(std::numeric_limits<int>::max()) + " a mesh can index");
  return std::size_t(n);
}

int split(std::string_view line, std::string_view* tokens, int max) {
  int k = 0;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) break;
    std::size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    if (k == max) return max + 1;
    tokens[k++] = line.substr(i, j - i);
    i = j;
  }
  return k;
}

bool parse_int(std::string_view token, long long& value) {
  token = strip_plus(token);
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && end == token.data() + token.size() && !token.empty();
}

bool parse_double(std::string_view token, double& value) {
  token = strip_plus(token);
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  return ec == std::errc() && end == token.data() + token.size() && !token.empty();
}

std::string quoted(std::string_view text) {
  std::string s = "'";
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    s += (c < 0x20 || c >= 0x7F) ? '?' : char(c);
  }
  if (text.size() > 40) s += "...";
  return s + "'";
}

}  // namespace metaeik::geometry::detail
