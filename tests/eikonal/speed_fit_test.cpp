#include "eikonal/speed_fit.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "geometry/structured.hpp"

namespace metaeik::eikonal {
namespace {

TEST(AhaGroupRegions, MapsSegmentsToTheReferenceGroups) {
  Eigen::VectorXi aha(19);
  for (int i = 0; i <= 18; ++i) aha[i] = i;
  const Eigen::VectorXi r = aha_group_regions(aha);
  const int expected[19] = {5, 0, 0, 2, 2, 1, 1, 0, 0, 2, 2, 1, 1, 3, 3, 3, 3, 3, 4};
  for (int i = 0; i <= 18; ++i) EXPECT_EQ(r[i], expected[i]) << "segment " << i;
}

TEST(AhaSegmentRegions, OneRegionPerSegmentAndOtherLast) {
  Eigen::VectorXi aha(19);
  for (int i = 0; i <= 18; ++i) aha[i] = i;
  const Eigen::VectorXi r = aha_segment_regions(aha);
  EXPECT_EQ(r[0], 18);
  for (int i = 1; i <= 18; ++i) EXPECT_EQ(r[i], i - 1) << "segment " << i;
  aha[3] = 19;
  EXPECT_THROW(aha_segment_regions(aha), core::Error);
}

// A scar per segment: 18 blocks (3 × 3 × 2) of a box labelled as AHA segments 1–18, each with its
// own speed, observed everywhere. BOBYQA over the 18 segment speeds must recover every one.
TEST(FitRegionSpeeds, EighteenSegmentsRecoverAScarPerSegment) {
  const auto mesh = geometry::box_mesh(9, 9, 4, {18.0, 18.0, 8.0});
  Eigen::VectorXi aha(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) {
    const int bx = std::min(2, int(mesh.points(i, 0) / 6.0)), by = std::min(2, int(mesh.points(i, 1) / 6.0));
    const int bz = std::min(1, int(mesh.points(i, 2) / 4.0));
    aha[i] = 1 + bx + 3 * by + 9 * bz;
  }
  const Eigen::VectorXi region = aha_segment_regions(aha);
  Eigen::VectorXd truth(18);
  for (int r = 0; r < 18; ++r) truth[r] = 0.2 + 0.5 * double((r * 7) % 18) / 17.0;  // 0.2 … 0.7, all distinct
  SpeedField field{SpeedField::Location::kNode, Eigen::VectorXd(mesh.num_points()), {}, 1.0};
  for (int i = 0; i < mesh.num_points(); ++i) field.speed[i] = truth[region[i]];
  const FimSolver solver(mesh);
  const std::vector<Source> sources{{0, 0.0}};
  const Eigen::VectorXd observed = solver.solve(field, sources).times;
  SpeedFitOptions opt;
  opt.max_evaluations = 3000;
  opt.xtol_rel = 1e-6;
  const auto fit =
      fit_region_speeds(solver, region, sources, observed, Eigen::VectorXi::Ones(mesh.num_points()), opt);
  ASSERT_EQ(fit.region_speeds.size(), 18);
  for (int r = 0; r < 18; ++r)
    EXPECT_NEAR(fit.region_speeds[r], truth[r], 0.05 * truth[r]) << "segment " << r + 1;
}

// Three slabs along x with different speeds; noise-free observations on every node: BOBYQA must
// recover the true speeds.
TEST(FitRegionSpeeds, RecoversTrueSpeedsFromFullObservations) {
  const auto mesh = geometry::box_mesh(12, 4, 4, {30.0, 10.0, 10.0});
  Eigen::VectorXi region(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) region[i] = std::min(2, int(mesh.points(i, 0) / 10.0));
  const Eigen::Vector3d truth(0.3, 0.7, 0.5);
  SpeedField field{SpeedField::Location::kNode, Eigen::VectorXd(mesh.num_points()), {}, 1.0};
  for (int i = 0; i < mesh.num_points(); ++i) field.speed[i] = truth[region[i]];
  const FimSolver solver(mesh);
  const std::vector<Source> sources{{0, 0.0}};
  const Eigen::VectorXd observed = solver.solve(field, sources).times;
  const Eigen::VectorXi mask = Eigen::VectorXi::Ones(mesh.num_points());

  const SpeedFitResult fit = fit_region_speeds(solver, region, sources, observed, mask);
  ASSERT_EQ(fit.region_speeds.size(), 3);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(fit.region_speeds[r], truth[r], 0.02 * truth[r]) << "region " << r;
  EXPECT_LT(fit.rmse, 0.05);
  EXPECT_LE(fit.evaluations, 500);
  EXPECT_NEAR((fit.times - observed).cwiseAbs().maxCoeff(), 0.0, 0.5);
}

TEST(FitRegionSpeeds, RespectsTheEvaluationBudgetAndBounds) {
  const auto mesh = geometry::box_mesh(6, 3, 3, {12.0, 6.0, 6.0});
  Eigen::VectorXi region(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) region[i] = mesh.points(i, 0) < 6.0 ? 0 : 1;
  const FimSolver solver(mesh);
  // Observations that need a speed far above the upper bound.
  SpeedField fast{SpeedField::Location::kNode, Eigen::VectorXd::Constant(mesh.num_points(), 5.0), {}, 1.0};
  const Eigen::VectorXd observed = solver.solve(fast, {{0, 0.0}}).times;
  SpeedFitOptions opt;
  opt.max_evaluations = 20;
  const auto fit =
      fit_region_speeds(solver, region, {{0, 0.0}}, observed, Eigen::VectorXi::Ones(mesh.num_points()), opt);
  EXPECT_LE(fit.evaluations, 20);
  EXPECT_LE(fit.region_speeds.maxCoeff(), opt.upper);
  EXPECT_GE(fit.region_speeds.minCoeff(), opt.lower);
}

TEST(FitRegionSpeeds, BadInputs) {
  const auto mesh = geometry::box_mesh(2, 2, 2, {2.0, 2.0, 2.0});
  const FimSolver solver(mesh);
  const Eigen::VectorXi region = Eigen::VectorXi::Zero(mesh.num_points());
  const Eigen::VectorXd obs = Eigen::VectorXd::Zero(mesh.num_points());
  try {
    fit_region_speeds(solver, region, {{0, 0.0}}, obs, Eigen::VectorXi::Zero(mesh.num_points()));
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "speed fit: no observed nodes");
  }
  SpeedFitOptions opt;
  opt.start = 2.0;
  try {
    fit_region_speeds(solver, region, {{0, 0.0}}, obs, Eigen::VectorXi::Ones(mesh.num_points()), opt);
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "speed fit: need 0 < lower <= start <= upper, got 0.01, 2, 1");
  }
}

}  // namespace
}  // namespace metaeik::eikonal
