#include "core/random.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/progress.hpp"

namespace metaeik::core {
namespace {

TEST(Random, SameSeedAndStreamGiveTheSameSequence) {
  Rng a = make_rng(42, 3), b = make_rng(42, 3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a(), b());
}

TEST(Random, StreamsAndSeedsDiffer) {
  std::set<std::uint64_t> firsts;
  for (std::uint64_t seed = 0; seed < 4; ++seed)
    for (std::uint64_t stream = 0; stream < 4; ++stream) firsts.insert(make_rng(seed, stream)());
  EXPECT_EQ(firsts.size(), 16u);
}

TEST(ProgressBar, CountsFromManyThreads) {
  ProgressBar bar("test", 1000);
#pragma omp parallel for
  for (int i = 0; i < 1000; ++i) bar.advance();
  bar.finish();
  bar.finish();  // idempotent
  SUCCEED();
}

}  // namespace
}  // namespace metaeik::core
