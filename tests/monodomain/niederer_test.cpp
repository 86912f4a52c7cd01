// Niederer et al. 2011 slab benchmark from the shipped config (configs/tissue/niederer.json):
// the ordering of the activation times at P1–P9 and the refinement trend of P8 (Δx 0.5 → 0.2 mm,
// Δt 0.05 ms; a few seconds). bench/monodomain_table.sh adds Δt 0.01 ms and Δx 0.1 mm.

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/config.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/tissue_run.hpp"

namespace metaeik::monodomain {
namespace {

std::map<std::string, double> niederer(double dx, double dt) {
  core::Json json = core::load_json_file(std::string(METAEIK_SOURCE_DIR) + "/configs/tissue/niederer.json");
  json["grid"]["dx"] = dx;
  json["time"]["dt"] = dt;
  const TissueConfig cfg = read_tissue_config(json, "niederer.json");
  auto model = make_cell_model(cfg.model, cfg.variant, cfg.parameters);
  const auto res = simulate_tissue(cfg.tissue, *model);
  std::map<std::string, double> at;
  for (const auto& [name, p] : cfg.output.probes) at[name] = res.activation_time[cfg.tissue.grid.nearest(p)];
  return at;
}

TEST(Niederer, ConfigDescribesTheBenchmarkSlab) {
  const auto cfg = read_tissue_config(
      core::load_json_file(std::string(METAEIK_SOURCE_DIR) + "/configs/tissue/niederer.json"), "niederer.json");
  EXPECT_EQ(cfg.tissue.grid.nx, 41);
  EXPECT_EQ(cfg.tissue.grid.ny, 15);
  EXPECT_EQ(cfg.tissue.grid.nz, 7);
  EXPECT_EQ(cfg.variant, "epi");
  EXPECT_NEAR(cfg.tissue.stimuli.at(0).amplitude, 50000.0 / 1400.0, 1e-6);
  EXPECT_EQ(cfg.output.probes.size(), 9u);
  // P8, the far corner, is a grid node.
  const auto p8 = cfg.tissue.grid.point(cfg.tissue.grid.nearest({20, 7, 3}));
  EXPECT_DOUBLE_EQ(p8[0], 20);
  EXPECT_DOUBLE_EQ(p8[1], 7);
  EXPECT_DOUBLE_EQ(p8[2], 3);
}

/// The relations of the published ordering that hold on both test grids (see below).
void expect_ordering(const std::map<std::string, double>& at) {
  for (const auto& [name, t] : at) ASSERT_FALSE(std::isnan(t)) << name;
  EXPECT_LT(at.at("P1"), at.at("P5"));
  EXPECT_LT(at.at("P5"), at.at("P9"));
  EXPECT_LT(at.at("P9"), std::min({at.at("P2"), at.at("P6"), at.at("P3"), at.at("P7")}));
  EXPECT_LT(std::max({at.at("P2"), at.at("P6"), at.at("P3"), at.at("P7")}), std::min(at.at("P4"), at.at("P8")));
  const double p8 = at.at("P8");
  EXPECT_NEAR(at.at("P2"), at.at("P6"), 0.1 * p8);
  EXPECT_NEAR(at.at("P3"), at.at("P7"), 0.1 * p8);
  EXPECT_NEAR(at.at("P4"), at.at("P8"), 0.1 * p8);
}

TEST(Niederer, ActivationOrderingAndRefinementTrend) {
  // Published ordering: P1 < P5 < P9 < P2 ≈ P6 < P3 ≈ P7 < P4 ≈ P8. The transverse direction
  // (D_t = 0.01258 mm²/ms) is under-resolved on coarse grids, so P2/P6 (7 mm across the fibres)
  // overtake P3/P7 (20 mm along them) only as Δx → 0: they come after P3/P7 at Δx = 0.5 mm and,
  // as a pair, before them at 0.2 mm (P6 and P3 are then within 0.3 ms). Δx = 1 mm blocks
  // conduction across the fibres.
  const auto coarse = niederer(0.5, 0.05);
  const auto fine = niederer(0.2, 0.05);
  {
    SCOPED_TRACE("dx 0.5");
    expect_ordering(coarse);
    EXPECT_GT(coarse.at("P2"), coarse.at("P3"));
  }
  {
    SCOPED_TRACE("dx 0.2");
    expect_ordering(fine);
    EXPECT_LT(fine.at("P2"), std::min(fine.at("P3"), fine.at("P7")));
    EXPECT_LT(fine.at("P2") + fine.at("P6"), fine.at("P3") + fine.at("P7"));
  }
  // Refinement moves P8 (and the transverse probes) down towards the fine-grid value (≈ 38–48 ms).
  EXPECT_LT(fine.at("P8"), coarse.at("P8") - 5.0);
  EXPECT_LT(fine.at("P2"), coarse.at("P2") - 5.0);
  EXPECT_GT(fine.at("P8"), 38.0);
  EXPECT_LT(fine.at("P8"), 50.0);
}

}  // namespace
}  // namespace metaeik::monodomain
