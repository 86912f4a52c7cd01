// The states.bin dataset: the time split and window indexing never let a training window reach a
// test frame, z-score statistics come from the training part only, and bad files give one-line
// errors naming the file and the problem.
#include "surrogates/lstm/states_dataset.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/config.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"
#include "tests/surrogates/lstm/states_fixture.hpp"

namespace metaeik::surrogates::lstm {
namespace {

TEST(StatesDataset, LoadsSelectedVariablesInRequestedOrder) {
  test::TempDir tmp("lstm_load");
  write_states(tmp.path(), 10);
  const auto d = load_states(tmp.path(), {"Cai", "V"});
  ASSERT_EQ(d.frames, 10u);
  ASSERT_EQ(d.nodes, 6u);
  EXPECT_EQ(d.grid.nx, 3);
  EXPECT_EQ(d.frame(7)[0], -7.0f);       // Cai first
  EXPECT_EQ(d.frame(7)[6 + 4], 704.0f);  // then V, node 4
}

TEST(StatesDataset, SplitAndWindowsNeverReachTheTestPart) {
  const TimeSplit s = split_frames(1001, 0.8);
  EXPECT_EQ(s.train_end, 800u);
  for (std::size_t stride : {1u, 7u, 50u}) {
    const auto starts = window_starts(0, s.train_end, 100, stride, 0, 1);
    ASSERT_FALSE(starts.empty());
    EXPECT_EQ(starts.front(), 0u);
    for (auto st : starts) EXPECT_LE(st + 100, s.train_end);  // last target frame st + 99 < train_end
    EXPECT_GT(starts.back() + stride + 100, s.train_end);     // the next one would not fit
  }
  EXPECT_EQ(window_starts(0, 800, 100, 1, 0, 1).size(), 701u);
  const auto sub = window_starts(0, 800, 100, 1, 20, 3);
  ASSERT_EQ(sub.size(), 20u);
  EXPECT_TRUE(std::is_sorted(sub.begin(), sub.end()));
  EXPECT_EQ(sub, window_starts(0, 800, 100, 1, 20, 3));  // seeded
  EXPECT_NE(sub, window_starts(0, 800, 100, 1, 20, 4));
  const auto val = even_window_starts(700, 800, 50, 3);
  EXPECT_EQ(val, (std::vector<std::size_t>{700, 725, 750}));
  EXPECT_EQ(test::error_of([] { window_starts(0, 800, 801, 1, 0, 1); }),
            "window of 801 frames is longer than the 800 training frames");
  EXPECT_EQ(test::error_of([] { split_frames(3, 0.8); }),
            "the time split of 3 frames at 0.8 leaves fewer than 2 frames in a part");
}

TEST(StatesDataset, ZScoreStatisticsComeFromTheTrainingPartOnly) {
  test::TempDir tmp("lstm_stats");
  write_states(tmp.path(), 10);
  const auto d = load_states(tmp.path(), {"V", "Cai"});
  const TimeSplit s = split_frames(d.frames, 0.8);
  const auto st = attribute_stats(d, s.train_end);
  // Frames 0..7: Cai = −f, mean −3.5, population std sqrt(5.25); V = 100 f + c.
  EXPECT_DOUBLE_EQ(st.mean[1], -3.5);
  EXPECT_NEAR(st.std[1], std::sqrt(5.25), 1e-12);
  EXPECT_DOUBLE_EQ(st.min[1], -7);
  EXPECT_DOUBLE_EQ(st.max[1], 0);
  EXPECT_DOUBLE_EQ(st.mean[0], 350 + 2.5);
  EXPECT_DOUBLE_EQ(st.max[0], 705);  // frame 8 and 9 (test) would give 905
  const auto z = zscore_frames(d, st, 9, 1);
  EXPECT_NEAR(z[6], (-9 + 3.5) / std::sqrt(5.25), 1e-6);
}

TEST(StatesDataset, BadFilesGiveOneLineErrorsNamingThem) {
  test::TempDir tmp("lstm_bad");
  const auto dir = tmp.path() / "run";
  const std::string j = (dir / "states.json").string(), b = (dir / "states.bin").string();
  write_states(dir, 4, {}, 8);
  EXPECT_EQ(test::error_of([&] { load_states(dir, {"V"}); }),
            b + ": has 184 bytes, but states.json shape [4, 2, 6] needs 192");
  write_states(dir, 4);
  EXPECT_EQ(test::error_of([&] {
              load_states(dir, {"V", "CaSR"});
            }),
            j + ": variable 'CaSR' is missing (has V, Cai)");
  write_states(dir, 4, {{"dtype", "float64"}});
  EXPECT_EQ(test::error_of([&] { load_states(dir, {"V"}); }),
            j + ": key 'dtype' must be \"float32\", got \"float64\"");
  write_states(dir, 4, {{"shape", nullptr}});
  EXPECT_EQ(test::error_of([&] { load_states(dir, {"V"}); }), j + ": key 'shape' is missing");
  write_states(dir, 4, {{"grid", {{"nodes", {4, 2, 1}}}}});
  EXPECT_EQ(test::error_of([&] { load_states(dir, {"V"}); }),
            j + ": grid.nodes 4x2x1 does not match shape[2] = 6");
  EXPECT_EQ(test::error_of([&] { load_states(tmp.path() / "none", {"V"}); }),
            (tmp.path() / "none" / "states.json").string() +
                ": not found (expected the output directory of `metaeikonal tissue`)");
}

}  // namespace
}  // namespace metaeik::surrogates::lstm
