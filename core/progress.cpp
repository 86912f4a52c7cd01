#include "core/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "core/log.hpp"

namespace metaeik::core {

namespace {
std::string format_seconds(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}
}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total)
    : label_(std::move(label)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(::isatty(STDERR_FILENO) != 0),
      enabled_(verbosity() != Verbosity::kQuiet && total > 0) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(std::size_t n) {
  const std::size_t done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is drawing; skip this update
  draw(done, false);
}

void ProgressBar::set_status(const std::string& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_ = status;
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || !enabled_) return;
  finished_ = true;
  draw(done_.load(), true);
}

void ProgressBar::draw(std::size_t done, bool final) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ ? std::min(1.0, double(done) / double(total_)) : 1.0;
  if (!tty_) {
    const int decile = int(frac * 10.0);
    if (decile == last_decile_ && !final) return;
    if (final && decile == last_decile_ && decile == 10) return;
    last_decile_ = decile;
    spdlog::info("{}: {}/{} ({:.0f}%) {} {}", label_, done, total_, 100.0 * frac, format_seconds(elapsed),
                 status_);
    return;
  }
  if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = int(frac * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '-');
  const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
  const double eta = (rate > 0 && done < total_) ? double(total_ - done) / rate : 0.0;
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %3.0f%% %s<%s %.1f/s %s\x1b[K", label_.c_str(), bar.c_str(), done,
               total_, 100.0 * frac, format_seconds(elapsed).c_str(), format_seconds(eta).c_str(), rate,
               status_.c_str());
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace metaeik::core
