#include "core/parallel.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace metaeik::core {
namespace {

TEST(LoopErrors, RethrowsTheLowestFailingIndexForAnyThreadCount) {
  for (int threads : {1, 2, 4}) {
    LoopErrors errors;
    int done = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : done)
    for (int i = 0; i < 200; ++i)
      errors.run(i, [&] {
        if (i % 37 == 5) throw std::runtime_error("item " + std::to_string(i));
        ++done;
      });
    EXPECT_TRUE(errors.failed());
    EXPECT_EQ(done, 200 - 6);  // 5, 42, 79, 116, 153, 190 threw; every other item ran
    try {
      errors.rethrow();
      FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "item 5") << threads << " threads";
    }
  }
}

TEST(LoopErrors, NothingToRethrowWhenNothingFailed) {
  LoopErrors errors;
  errors.run(0, [] {});
  EXPECT_FALSE(errors.failed());
  EXPECT_NO_THROW(errors.rethrow());
}

}  // namespace
}  // namespace metaeik::core
