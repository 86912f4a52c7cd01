#pragma once
// Logging set-up. All messages go to stderr through spdlog (stdout is kept for machine-readable
// output such as `--json`). Library code logs with spdlog::info/debug/warn directly.

#include <string>

namespace metaeik::core {

enum class Verbosity { kQuiet, kNormal, kVerbose };

/// Configures the default spdlog logger: quiet = warnings and errors, normal = info, verbose = debug.
void setup_logging(Verbosity verbosity);

/// The verbosity last set (progress bars are hidden when quiet).
Verbosity verbosity();

}  // namespace metaeik::core
