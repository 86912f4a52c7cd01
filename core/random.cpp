#include "core/random.hpp"

namespace metaeik::core {

std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng make_rng(std::uint64_t seed, std::uint64_t stream) {
  return Rng(mix_seed(mix_seed(seed) ^ (stream * 0xd1342543de82ef95ULL + 1)));
}

}  // namespace metaeik::core
