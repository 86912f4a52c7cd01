#pragma once
// Exceptions out of OpenMP loops. An exception must not leave an OpenMP region, so each iteration's
// body runs through LoopErrors::run, which keeps the exception of the lowest failing index; rethrow()
// after the loop throws it. Which error is reported does not depend on the thread count or schedule.

#include <climits>
#include <exception>
#include <mutex>

namespace metaeik::core {

class LoopErrors {
 public:
  /// Calls body(); an exception it throws is kept if `index` is the lowest failing one so far.
  template <class Body>
  void run(long index, Body&& body) noexcept {
    try {
      body();
    } catch (...) {
      keep(index, std::current_exception());
    }
  }
  bool failed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bool(error_);
  }
  /// Rethrows the kept exception, if any (call after the parallel region).
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(long index, std::exception_ptr error) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_ || index < index_) index_ = index, error_ = std::move(error);
  }
  mutable std::mutex mutex_;
  long index_ = LONG_MAX;
  std::exception_ptr error_;
};

}  // namespace metaeik::core
