#pragma once
// Seeded random numbers. Every random choice in MetaEikonal draws from an Rng made here, so a
// run is reproducible given its seed; independent streams (per subject, per thread, ...) are
// derived from (seed, stream) so they do not depend on the order work is scheduled in.

#include <cstdint>
#include <random>

namespace metaeik::core {

using Rng = std::mt19937_64;

/// splitmix64 finaliser: a well-mixed 64-bit hash.
std::uint64_t mix_seed(std::uint64_t x);

/// Generator for stream `stream` of seed `seed`.
Rng make_rng(std::uint64_t seed, std::uint64_t stream = 0);

}  // namespace metaeik::core
