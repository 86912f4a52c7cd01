// Gradient-based personalisation (fit_node_speeds_adjoint): on a small BiV map with a blob scar and 2 %
// observation noise it beats the 18-segment BOBYQA baseline in velocity correlation; it finds the
// source near the true one; bad options are one-line errors.

#include "eikonal/speed_fit_adjoint.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "eikonal/scar.hpp"
#include "eikonal/speed_fit.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/ventricles.hpp"

namespace metaeik::eikonal {
namespace {

using test::error_of;

double correlation(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
  return (x * y).sum() / std::sqrt(x.square().sum() * y.square().sum());
}

/// One map of the blobs dataset's kind: a 3-bump blob scar (0.1 mm/ms, 2 mm border to 0.6), a source
/// outside it, endocardial observations with Gaussian noise of 2 % of their range.
struct BlobMap {
  Eigen::VectorXd speed, truth, observed;
  Eigen::VectorXi mask;
  Source source;
};

BlobMap blob_map(const geometry::TetMesh& mesh, std::uint64_t seed) {
  BlobMap m;
  BlobOptions blob;
  blob.bumps = 3;
  blob.min_radius = 4.0;
  blob.max_radius = 7.0;
  ScarSpeedOptions so;
  so.border_width = 2.0;
  const Eigen::VectorXi scar = blob_scar_mask(mesh, blob, seed);
  m.speed = scar_speed_field(mesh, scar, so);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> node(0, mesh.num_points() - 1);
  do m.source = {node(rng), 0.0};
  while (m.speed[m.source.node] < so.healthy_speed);
  const FimSolver solver(mesh);
  m.truth = solver.solve({SpeedField::Location::kNode, m.speed, {}, 1.0}, {m.source}).times;
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  m.mask = ((surface.array() == 1) || (surface.array() == 2)).cast<int>();
  double lo = 1e300, hi = -1e300;
  for (int i = 0; i < mesh.num_points(); ++i)
    if (m.mask[i]) lo = std::min(lo, m.truth[i]), hi = std::max(hi, m.truth[i]);
  std::normal_distribution<double> noise(0.0, 0.02 * (hi - lo));
  m.observed = m.truth;
  for (int i = 0; i < mesh.num_points(); ++i)
    if (m.mask[i]) m.observed[i] += noise(rng);
  return m;
}

TEST(FitNodeSpeedsAdjoint, BeatsEighteenSegmentBobyqaOnABlobScarWithNoise) {
  const geometry::TetMesh& mesh = test::small_biv();
  const BlobMap map = blob_map(mesh, 4);
  FimOptions fo;
  fo.threads = 1;
  const FimSolver solver(mesh, fo);

  // Baseline: BOBYQA over the 18 segment speeds, handed the true source.
  const SpeedFitResult bobyqa = fit_region_speeds(solver, aha_segment_regions(mesh.point_labels("aha")),
                                                  {map.source}, map.observed, map.mask);
  const AdjointFitResult adjoint = fit_node_speeds_adjoint(solver, mesh, map.observed, map.mask);
  const double c_bobyqa = correlation(bobyqa.node_speed, map.speed),
               c_adjoint = correlation(adjoint.node_speed, map.speed);
  if (std::getenv("FIT_DEBUG"))
    std::printf(
        "velocity corr: adjoint %.3f (%.2f s, %d solves, rmse %.2f ms) vs BOBYQA %.3f (%.2f s, %d solves, "
        "rmse %.2f ms); AT corr %.3f vs %.3f; source %d (true %d) at %.2f mm, onset %.2f ms\n",
        c_adjoint, adjoint.seconds, adjoint.solves, adjoint.rmse, c_bobyqa, bobyqa.seconds,
        bobyqa.evaluations, bobyqa.rmse, correlation(adjoint.times, map.truth),
        correlation(bobyqa.times, map.truth), adjoint.source.node, map.source.node,
        (mesh.points.row(adjoint.source.node) - mesh.points.row(map.source.node)).norm(),
        adjoint.source.time);
  EXPECT_GT(c_adjoint, c_bobyqa);
  EXPECT_LT(adjoint.solves,
            bobyqa.evaluations / 2);  // each solve of the adjoint fit also runs one vjp (≈ 0.05 solve)
  EXPECT_GT(c_adjoint, 0.5);
  EXPECT_GT(correlation(adjoint.times, map.truth), 0.97);
  EXPECT_LT((mesh.points.row(adjoint.source.node) - mesh.points.row(map.source.node)).norm(), 8.0);
  EXPECT_GE(adjoint.node_speed.minCoeff(), AdjointFitOptions{}.v_min);
  EXPECT_LE(adjoint.node_speed.maxCoeff(), AdjointFitOptions{}.v_max);
}

TEST(FitNodeSpeedsAdjoint, BadOptionsAndInputsAreOneLineErrors) {
  const geometry::TetMesh& mesh = test::small_biv();
  const FimSolver solver(mesh);
  const Eigen::VectorXd y = Eigen::VectorXd::Zero(mesh.num_points());
  const Eigen::VectorXi mask = Eigen::VectorXi::Ones(mesh.num_points());
  AdjointFitOptions o;
  o.prior = "l1";
  EXPECT_EQ(error_of([&] { fit_node_speeds_adjoint(solver, mesh, y, mask, o); }),
            "adjoint fit: prior must be 'laplacian' or 'tv', got 'l1'");
  o = {};
  o.v_min = 1.5;
  EXPECT_EQ(error_of([&] { fit_node_speeds_adjoint(solver, mesh, y, mask, o); }),
            "adjoint fit: need 0 < v_min < v_max, got 1.5, 1");
  EXPECT_EQ(
      error_of([&] { fit_node_speeds_adjoint(solver, mesh, y, Eigen::VectorXi::Zero(mesh.num_points())); }),
      "adjoint fit: need at least 2 observed nodes, got 0");
  EXPECT_EQ(error_of([&] { fit_node_speeds_adjoint(solver, mesh, Eigen::VectorXd::Zero(3), mask); }),
            "adjoint fit: observed and mask must have " + std::to_string(mesh.num_points()) +
                " entries (one per node), got 3 and " + std::to_string(mesh.num_points()));
}

}  // namespace
}  // namespace metaeik::eikonal
