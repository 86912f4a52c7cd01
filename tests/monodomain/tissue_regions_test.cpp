#include "monodomain/tissue_regions.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "monodomain/single_cell.hpp"
#include "monodomain/tissue_run.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::monodomain {
namespace {

Grid grid_4x2() {
  Grid g;
  g.nx = 4;
  g.ny = 2;
  return g;
}

TEST(TissueRegions, EachCellStepsWithItsRegionsParameters) {
  // MS cells: the region x ≥ 2 mm has a shorter τ_close. Stepping the regional model must equal stepping
  // each cell with its own model.
  const auto regional =
      make_regional_cell_model("ms", "", core::Json::object(),
                               {{{2, 0, 0}, {3, 1, 0}, core::Json{{"tau_close", 60.0}}}}, grid_4x2(), "t");
  auto normal = make_cell_model("ms"), short_apd = make_cell_model("ms", "", core::Json{{"tau_close", 60.0}});
  const std::size_t n = 8;
  auto states = regional->make_states(n);
  for (std::size_t c = 0; c < n; ++c) states.at(0, c) = 0.1 * c;  // v
  auto reference = states;
  std::vector<double> stim(n, 0.5);
  regional->step(states.data.data(), n, stim.data(), 0.1);
  for (std::size_t c = 0; c < n; ++c) {
    double y[2] = {reference.at(0, c), reference.at(1, c)};
    const bool in_region = c % 4 >= 2;
    (in_region ? short_apd : normal)->step(y, 1, &stim[c], 0.1);
    EXPECT_DOUBLE_EQ(states.at(0, c), y[0]) << c;
    EXPECT_DOUBLE_EQ(states.at(1, c), y[1]) << c;
  }
  std::vector<double> d(2 * n), i_ion(n);
  regional->rhs(states.data.data(), n, nullptr, d.data());
  regional->ionic_current(states.data.data(), n, i_ion.data());
  for (std::size_t c = 0; c < n; ++c) EXPECT_NEAR(i_ion[c], -d[c], 1e-12);
  EXPECT_NE(d[n + 3], 0.0);
}

TEST(TissueRegions, NoRegionsIsThePlainModelAndConfigsReadRegions) {
  EXPECT_EQ(make_regional_cell_model("ms", "", core::Json::object(), {}, grid_4x2(), "t")->name(), "ms");
  const std::string base =
      R"({"cell": {"model": "ms", "regions": REGIONS}, "grid": {"nodes": [4, 2], "dx": 1.0},
    "diffusion": {"d_long": 0.1, "d_trans": 0.1}, "time": {"dt": 0.1, "duration": 1}, "output": {"states": ["v"]}})";
  auto with = [&](const std::string& regions) {
    std::string s = base;
    s.replace(s.find("REGIONS"), 7, regions);
    return core::Json::parse(s);
  };
  const auto cfg = read_tissue_config(
      with(R"([{"lo": [2, 0], "hi": [3, 1], "parameters": {"tau_close": 60}}])"), "r.json");
  ASSERT_EQ(cfg.regions.size(), 1u);
  EXPECT_DOUBLE_EQ(cfg.regions[0].lo[0], 2);
  EXPECT_EQ(cfg.regions[0].parameters["tau_close"], 60);
  EXPECT_EQ(test::error_of([&] { read_tissue_config(with(R"([{"lo": [2, 0], "hi": [3, 1]}])"), "r.json"); }),
            "r.json: key 'cell.regions[0].parameters': is required");
  EXPECT_EQ(test::error_of([&] {
              read_tissue_config(with(R"([{"lo": [2, 0], "hi": [3, 1], "parameters": {"tau_x": 1}}])"),
                                 "r.json");
            }).substr(0, 22),
            "r.json: cell.regions[0");
  EXPECT_TRUE(read_tissue_config(with("[]"), "r.json").regions.empty());
}

}  // namespace
}  // namespace metaeik::monodomain
