#pragma once
// Portable random draws on top of core::Rng (mt19937_64, whose output is fixed by the C++
// standard). The <random> distributions are implementation-defined, so datasets drawn with them
// could differ between standard libraries; these are not.

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/random.hpp"

namespace metaeik::eikonal::detail {

/// Uniform double in [0, 1).
inline double uniform01(core::Rng& rng) { return double(rng() >> 11) * 0x1.0p-53; }

/// Uniform integer in [0, n) (Lemire's multiply-shift; bias < n / 2⁶⁴).
inline std::int64_t uniform_index(core::Rng& rng, std::int64_t n) {
  return std::int64_t((static_cast<unsigned __int128>(rng()) * static_cast<std::uint64_t>(n)) >> 64);
}

/// Standard normal by the Box–Muller transform (one draw per call).
inline double standard_normal(core::Rng& rng) {
  const double u1 = 1.0 - uniform01(rng);  // (0, 1]
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

/// `k` distinct elements of `pool`, in random order (partial Fisher–Yates). Requires k ≤ size.
template <class T>
std::vector<T> sample_without_replacement(std::vector<T> pool, std::size_t k, core::Rng& rng) {
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t j = i + std::size_t(uniform_index(rng, std::int64_t(pool.size() - i)));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(k);
  return pool;
}

}  // namespace metaeik::eikonal::detail
