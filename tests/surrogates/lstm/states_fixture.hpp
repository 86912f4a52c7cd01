#pragma once
// Tiny states.bin + states.json directories for the LSTM surrogate tests.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "core/config.hpp"

namespace metaeik::surrogates::lstm {

/// `frames` frames of 2 variables (V, Cai) on a 3×2 grid. Default values: V = 100·f + c,
/// Cai = −f (statistics known in closed form); `value(f, v, c)` replaces them. `header_patch` is
/// merged into states.json; `drop_bytes` truncates states.bin.
inline void write_states(const std::filesystem::path& dir, std::size_t frames, core::Json header_patch = {},
                         long long drop_bytes = 0,
                         const std::function<float(std::size_t, std::size_t, std::size_t)>& value = {}) {
  std::filesystem::create_directories(dir);
  const std::size_t n = 6;
  core::Json h{{"file", "states.bin"},    {"dtype", "float32"},
               {"byte_order", "little"},  {"layout", {"frame", "variable", "node"}},
               {"shape", {frames, 2, n}}, {"variables", {"V", "Cai"}},
               {"interval_ms", 1},        {"grid", {{"nodes", {3, 2, 1}}, {"spacing_mm", {1, 1, 1}}}}};
  if (!header_patch.is_null()) h.merge_patch(header_patch);
  std::ofstream(dir / "states.json") << h.dump();
  std::vector<float> v;
  for (std::size_t f = 0; f < frames; ++f)
    for (std::size_t k = 0; k < 2; ++k)
      for (std::size_t c = 0; c < n; ++c)
        v.push_back(value ? value(f, k, c) : (k == 0 ? float(100 * f + c) : -float(f)));
  std::ofstream bin(dir / "states.bin", std::ios::binary);
  bin.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4 - drop_bytes));
}

/// A paced-looking signal: V spikes to +20 every `period` frames, at node c from frame 1 + c of the
/// cycle on (so every upstroke has a resting frame before it inside its cycle), else −80.
inline float paced_value(std::size_t f, std::size_t v, std::size_t c, std::size_t period = 20) {
  const std::size_t phase = (f + period - c - 1) % period;
  const float V = phase < 6 ? 20.0f : -80.0f;
  return v == 0 ? V : 1e-4f * (1.0f + std::exp(-float(phase) / 5));
}

}  // namespace metaeik::surrogates::lstm
