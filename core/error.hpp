#pragma once
// One error type for the whole library and the check macro that throws it.
// Library code throws; only tools/ turns an error into a message and an exit code.

#include <sstream>
#include <stdexcept>
#include <string>

namespace metaeik::core {

/// The single exception type thrown by MetaEikonal libraries. `what()` is a one-line,
/// user-facing message; `file()`/`line()` record where it was raised (for --verbose).
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file = "", int line = 0)
      : std::runtime_error(message), file_(file), line_(line) {}
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  const char* file_;
  int line_;
};

}  // namespace metaeik::core

/// Throws metaeik::core::Error with a streamed message when `cond` is false:
///   METAEIK_CHECK(speed > 0, "speed must be positive, got " << speed);
#define METAEIK_CHECK(cond, msg)                                                 \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::ostringstream metaeik_check_os_;                                      \
      metaeik_check_os_ << msg;                                                  \
      throw ::metaeik::core::Error(metaeik_check_os_.str(), __FILE__, __LINE__); \
    }                                                                            \
  } while (false)

/// Throws unconditionally.
#define METAEIK_FAIL(msg) METAEIK_CHECK(false, msg)
