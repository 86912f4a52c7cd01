#pragma once
// A progress bar for long loops. On a terminal it redraws one stderr line (count, percent,
// rate, ETA) at most ten times a second; when stderr is not a terminal it logs a line at every
// 10 %; when logging is quiet it shows nothing. advance() is thread-safe (OpenMP loops).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace metaeik::core {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(std::size_t n = 1);
  /// Extra text shown after the bar (e.g. the current loss).
  void set_status(const std::string& status);
  /// Draws the final state and ends the line (called by the destructor if not before).
  void finish();

 private:
  void draw(std::size_t done, bool final);

  std::string label_;
  std::size_t total_;
  std::atomic<std::size_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
  std::string status_;
  bool tty_;
  bool enabled_;
  bool finished_ = false;
  int last_decile_ = -1;
};

}  // namespace metaeik::core
