// Scar speed fields: AHA masks, random blobs (reproducible, bounded size), edge distances
// against a brute-force reference, sharp and smooth borders.

#include "eikonal/scar.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "geometry/structured.hpp"

namespace metaeik::eikonal {
namespace {

geometry::TetMesh box() { return geometry::box_mesh(8, 6, 5, Eigen::Vector3d(16, 12, 10)); }

/// Brute force: Bellman–Ford relaxation over all tet edges until nothing changes.
Eigen::VectorXd bellman_ford(const geometry::TetMesh& mesh, const Eigen::VectorXi& mask) {
  Eigen::VectorXd d = Eigen::VectorXd::Constant(mesh.num_points(), std::numeric_limits<double>::infinity());
  for (int i = 0; i < mesh.num_points(); ++i)
    if (mask[i]) d[i] = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (int t = 0; t < mesh.num_tets(); ++t)
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          const int i = mesh.tets(t, a), j = mesh.tets(t, b);
          const double len = (mesh.points.row(i) - mesh.points.row(j)).norm();
          if (d[i] + len < d[j] - 1e-12) d[j] = d[i] + len, changed = true;
        }
  }
  return d;
}

TEST(Scar, EdgeDistanceMatchesBruteForce) {
  const auto mesh = box();
  Eigen::VectorXi mask = Eigen::VectorXi::Zero(mesh.num_points());
  mask[0] = mask[geometry::box_point_index(8, 6, 5, 8, 6)] = mask[geometry::box_point_index(4, 3, 2, 8, 6)] =
      1;
  const Eigen::VectorXd d = edge_distance_to(mesh, mask), ref = bellman_ford(mesh, mask);
  EXPECT_LT((d - ref).cwiseAbs().maxCoeff(), 1e-12);
  // Never shorter than the straight line to the nearest scar node.
  for (int i = 0; i < mesh.num_points(); ++i) {
    double euclid = std::numeric_limits<double>::infinity();
    for (int j = 0; j < mesh.num_points(); ++j)
      if (mask[j]) euclid = std::min(euclid, (mesh.points.row(i) - mesh.points.row(j)).norm());
    EXPECT_GE(d[i], euclid - 1e-12);
  }
  EXPECT_TRUE(std::isinf(edge_distance_to(mesh, Eigen::VectorXi::Zero(mesh.num_points())).maxCoeff()));
}

TEST(Scar, SharpAndSmoothBorders) {
  const auto mesh = box();
  Eigen::VectorXi mask = Eigen::VectorXi::Zero(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) mask[i] = mesh.points(i, 0) <= 4.0;
  ScarSpeedOptions o;
  const Eigen::VectorXd sharp = scar_speed_field(mesh, mask, o);
  for (int i = 0; i < mesh.num_points(); ++i) EXPECT_EQ(sharp[i], mask[i] ? 0.1 : 0.6);

  o.border_width = 5.0;
  const Eigen::VectorXd smooth = scar_speed_field(mesh, mask, o);
  const Eigen::VectorXd d = edge_distance_to(mesh, mask);
  for (int i = 0; i < mesh.num_points(); ++i) {
    if (mask[i]) EXPECT_EQ(smooth[i], 0.1);
    if (d[i] >= 5.0) EXPECT_EQ(smooth[i], 0.6);
    const double t = std::min(d[i] / 5.0, 1.0);
    EXPECT_NEAR(smooth[i], 0.1 + 0.5 * t * t * (3 - 2 * t), 1e-15);
    // Monotone in the distance.
    for (int j = 0; j < mesh.num_points(); ++j)
      if (d[j] > d[i]) EXPECT_GE(smooth[j], smooth[i]);
  }
  o.scar_speed = -1;
  EXPECT_THROW(scar_speed_field(mesh, mask, o), core::Error);
}

TEST(Scar, AhaMask) {
  auto mesh = box();
  EXPECT_THROW(aha_scar_mask(mesh, {1}), core::Error);
  Eigen::VectorXi aha(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) aha[i] = 1 + i % 18;
  mesh.set_point_labels("aha", aha);
  const Eigen::VectorXi m = aha_scar_mask(mesh, {2, 7, 18});
  for (int i = 0; i < mesh.num_points(); ++i) EXPECT_EQ(m[i], aha[i] == 2 || aha[i] == 7 || aha[i] == 18);
}

TEST(Scar, BlobsAreReproducibleAndBounded) {
  const auto mesh = geometry::box_mesh(20, 20, 20, Eigen::Vector3d(60, 60, 60));
  BlobOptions o;  // 3 bumps, radii 6–12 mm
  std::set<std::vector<int>> distinct;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const Eigen::VectorXi a = blob_scar_mask(mesh, o, seed), b = blob_scar_mask(mesh, o, seed);
    EXPECT_EQ(a, b);
    EXPECT_GT(a.sum(), 0);
    distinct.insert(std::vector<int>(a.data(), a.data() + a.size()));
    // Σ_k exp(−d²/2r²) ≥ e^{−1/2} needs d ≤ r_max·sqrt(1 + 2 ln K) from some centre, and the
    // centres lie within r_0 ≤ r_max of c_0: every scar node is within r_max(1 + sqrt(1 + 2 ln 3)).
    const double reach = o.max_radius * (1 + std::sqrt(1 + 2 * std::log(3.0)));
    std::vector<int> nodes;
    for (int i = 0; i < mesh.num_points(); ++i)
      if (a[i]) nodes.push_back(i);
    double diameter = 0;
    for (int i : nodes)
      for (int j : nodes) diameter = std::max(diameter, (mesh.points.row(i) - mesh.points.row(j)).norm());
    EXPECT_LE(diameter, 2 * reach);
    // It contains the ball of radius r_0 ≥ 6 mm around the node c_0; on this 3 mm grid that holds
    // the lattice points i² + j² + k² ≤ 4 of at least one octant (c_0 in a corner): 11 nodes.
    EXPECT_GE(a.sum(), 11);
  }
  EXPECT_EQ(distinct.size(), 5u);
  o.bumps = 0;
  EXPECT_THROW(blob_scar_mask(mesh, o, 1), core::Error);
}

}  // namespace
}  // namespace metaeik::eikonal
