#pragma once
// Test helper: the message of the core::Error a call throws.

#include <functional>
#include <string>

#include "core/error.hpp"

namespace metaeik::test {

/// what() of the core::Error thrown by f, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace metaeik::test
