#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace metaeik::core {

namespace {
std::atomic<Verbosity> g_verbosity{Verbosity::kNormal};
}

void setup_logging(Verbosity v) {
  g_verbosity = v;
  spdlog::drop("metaeik");
  auto logger = spdlog::stderr_color_mt("metaeik");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  switch (v) {
    case Verbosity::kQuiet:
      spdlog::set_level(spdlog::level::warn);
      break;
    case Verbosity::kNormal:
      spdlog::set_level(spdlog::level::info);
      break;
    case Verbosity::kVerbose:
      spdlog::set_level(spdlog::level::debug);
      break;
  }
}

Verbosity verbosity() { return g_verbosity; }

}  // namespace metaeik::core
