#include "core/charts/charts.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "../support/cli.hpp"
#include "core/error.hpp"

namespace metaeik::core {
namespace {

/// Width and height from a PNG's IHDR chunk.
std::pair<int, int> png_size(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  unsigned char h[24];
  in.read(reinterpret_cast<char*>(h), 24);
  EXPECT_EQ(h[1], 'P');
  EXPECT_EQ(h[2], 'N');
  EXPECT_EQ(h[3], 'G');
  auto be = [&](int o) { return (h[o] << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]; };
  return {be(16), be(20)};
}

TEST(Charts, BarChartWithMissingValuesAndErrors) {
  test::TempDir dir("charts");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  write_bar_chart(dir / "bars.png", "Spatial correlation", "SCC", {"AT", "velocity"},
                  {{"meta-PINN", {0.87, 0.60}, {0.15, 0.19}},
                   {"meta-neural", {0.80, nan}, {0.1, nan}},
                   {"physics", {0.9, 0.5}, {}}});
  const auto [w, h] = png_size(dir / "bars.png");
  EXPECT_EQ(h, 480);
  EXPECT_GE(w, 600);
}

TEST(Charts, LineChartLogScale) {
  test::TempDir dir("charts_line");
  write_line_chart(dir / "loss.png", "Training", "epoch", "loss", {{"train", {1, 2, 3}, {1.0, 0.1, 0.01}}},
                   true);
  EXPECT_EQ(png_size(dir / "loss.png"), std::make_pair(800, 480));
}

TEST(Charts, MismatchedSeriesIsAnError) {
  test::TempDir dir("charts_bad");
  try {
    write_bar_chart(dir / "b.png", "t", "y", {"a", "b"}, {{"s", {1.0}, {}}});
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "b.png").string() + ": series 's' has 1 values for 2 groups");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "b.png"));
}

}  // namespace
}  // namespace metaeik::core
