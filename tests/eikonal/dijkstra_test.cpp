// Dijkstra reference solver: exact along mesh edges, an upper bound of FIM, and less accurate.

#include "eikonal/dijkstra.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "eikonal/fim.hpp"
#include "geometry/structured.hpp"

namespace metaeik::eikonal {
namespace {

using geometry::box_point_index;

// Along a grid line (a chain of mesh edges) the shortest edge path is the straight line.
TEST(Dijkstra, ExactAlongMeshEdges) {
  const int cells = 10;
  const auto mesh = geometry::cube_mesh(cells, 5.0);
  const auto r = solve_dijkstra(mesh, SpeedField::uniform(mesh, 0.5), {{0, 1.0}});
  EXPECT_TRUE(r.stats.converged);
  EXPECT_EQ(r.stats.iterations, mesh.num_points());
  for (int i = 0; i <= cells; ++i) {
    EXPECT_NEAR(r.times[box_point_index(i, 0, 0, cells, cells)], 1.0 + 0.5 * i / 0.5, 1e-12);
    // The Kuhn diagonal (1,1,1) is a mesh edge too.
    EXPECT_NEAR(r.times[box_point_index(i, i, i, cells, cells)], 1.0 + 0.5 * std::sqrt(3.0) * i / 0.5, 1e-12);
  }
}

// FIM is more accurate than Dijkstra on the same mesh, and never later (its vertex candidates are
// Dijkstra's edge relaxations with the same per-tet metric).
TEST(Dijkstra, FimIsMoreAccurateAndBelowDijkstra) {
  const int cells = 16;
  for (const auto split : {geometry::BoxSplit::kKuhn, geometry::BoxSplit::kMirrored}) {
    const auto mesh = geometry::cube_mesh(cells, 10.0, split);
    const int src = box_point_index(cells / 2, cells / 2, cells / 2, cells, cells);
    const auto speed = SpeedField::uniform(mesh, 0.6);
    FimOptions serial;
    serial.threads = 1;
    const auto fim = solve(mesh, speed, {{src, 0.0}}, serial);
    const auto dij = solve_dijkstra(mesh, speed, {{src, 0.0}});
    double err_fim = 0.0, err_dij = 0.0, mean_fim = 0.0, mean_dij = 0.0;
    for (int i = 0; i < mesh.num_points(); ++i) {
      const double exact = (mesh.points.row(i) - mesh.points.row(src)).norm() / 0.6;
      err_fim = std::max(err_fim, std::abs(fim.times[i] - exact));
      err_dij = std::max(err_dij, std::abs(dij.times[i] - exact));
      mean_fim += std::abs(fim.times[i] - exact) / mesh.num_points();
      mean_dij += std::abs(dij.times[i] - exact) / mesh.num_points();
      EXPECT_LE(fim.times[i], dij.times[i] + 1e-9) << i;
    }
    EXPECT_LT(err_fim, 0.5 * err_dij);
    EXPECT_LT(mean_fim, 0.5 * mean_dij);
  }
}

TEST(Dijkstra, AnisotropicAndPerTetSpeedsAndBatch) {
  const auto mesh = geometry::cube_mesh(6, 6.0);
  SpeedField aniso = SpeedField::uniform(mesh, 1.0);
  aniso.fibers = geometry::Points(mesh.num_tets(), 3);
  aniso.fibers.rowwise() = Eigen::RowVector3d(0, 0, 2);
  aniso.transverse_ratio = 0.5;
  const auto r = solve_dijkstra(mesh, aniso, {{0, 0.0}});
  EXPECT_NEAR(r.times[box_point_index(0, 0, 6, 6, 6)], 6.0, 1e-12);   // along the fibre at 1 mm/ms
  EXPECT_NEAR(r.times[box_point_index(6, 0, 0, 6, 6)], 12.0, 1e-12);  // across at 0.5 mm/ms

  SpeedField per_tet;
  per_tet.location = SpeedField::Location::kTet;
  per_tet.speed = Eigen::VectorXd::Constant(mesh.num_tets(), 2.0);
  const DijkstraSolver solver(mesh);
  const auto batch = solver.solve_batch({aniso, per_tet}, {{0, {{0, 0.0}}}, {1, {{0, 0.0}}}});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ((batch[0].times - r.times).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_NEAR(batch[1].times[box_point_index(6, 0, 0, 6, 6)], 3.0, 1e-12);
}

TEST(Dijkstra, SameInputErrorsAsFim) {
  const auto mesh = geometry::cube_mesh(2, 1.0);
  const DijkstraSolver solver(mesh);
  auto v = SpeedField::uniform(mesh, 0.6);
  try {
    solver.solve(v, {{27, 0.0}});
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "source node 27 is out of range [0, 27)");
  }
  v.speed[5] = -1;
  try {
    solver.solve(v, {{0, 0.0}});
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "speed at node 5 is not positive (-1)");
  }
}

}  // namespace
}  // namespace metaeik::eikonal
