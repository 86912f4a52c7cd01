// Multi-PINN baseline: fits analytic point-source maps T = |x − x0|/v in a homogeneous cube from
// scratch and recovers the maps and the shared speed; one-line errors on bad input.

#include "metapinn/multi_pinn.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.hpp"
#include "geometry/structured.hpp"
#include "metapinn/personalize.hpp"
#include "tests/support/errors.hpp"

using namespace metaeik;
using namespace metaeik::metapinn;

namespace {

using test::error_of;

Eigen::VectorXd point_source(const geometry::TetMesh& mesh, const Eigen::RowVector3d& x0, double v) {
  Eigen::VectorXd t(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) t[i] = (mesh.points.row(i) - x0).norm() / v;
  return t;
}

MultiPinnOptions small_options() {
  MultiPinnOptions o;
  o.iterations = 1500;
  o.lr = 5e-3;
  o.alpha_ramp_iterations = 300;
  o.pinn_hidden_layers = 3;
  o.velocity_layers = 3;
  o.seed = 5;
  o.threads = 1;
  return o;
}

}  // namespace

TEST(MultiPinn, FitsAnAnalyticMapAndItsSpeedFromFullObservations) {
  const auto mesh = geometry::cube_mesh(4, 10.0);  // 125 nodes
  const double v = 0.4;
  const Eigen::VectorXi all = Eigen::VectorXi::Ones(mesh.num_points());
  const auto truth = point_source(mesh, Eigen::RowVector3d(1.0, 2.0, 3.0), v);
  auto o = small_options();
  const auto r = fit_multi_pinn(mesh.points, mesh.tets, all, {truth}, o);
  ASSERT_EQ(r.times.size(), 1u);
  ASSERT_EQ(r.times[0].size(), mesh.num_points());
  EXPECT_LT(relative_error(r.times[0], truth), 0.03);
  EXPECT_GT(pearson(r.times[0], truth), 0.995);
  // The PDE term makes the shared velocity-net learn the speed: |∇T| = 1/v.
  EXPECT_NEAR(r.speed.mean(), v, 0.05);
  EXPECT_LT(r.residual[0].cwiseAbs().mean(), 0.15);
  EXPECT_TRUE(r.speed.minCoeff() >= o.v_min - 1e-9 && r.speed.maxCoeff() <= o.v_max + 1e-9);
  EXPECT_GT(r.seconds, 0.0);
}

TEST(MultiPinn, TwoMapsShareOneVelocityAndDeterministic) {
  const auto mesh = geometry::cube_mesh(3, 10.0);  // 64 nodes
  const double v = 0.3;
  Eigen::VectorXi face = Eigen::VectorXi::Zero(mesh.num_points());  // observe two faces only
  for (int i = 0; i < mesh.num_points(); ++i)
    face[i] = (mesh.points(i, 0) < 1e-9 || mesh.points(i, 1) < 1e-9) ? 1 : 0;
  const std::vector<Eigen::VectorXd> maps{point_source(mesh, Eigen::RowVector3d(0, 0, 0), v),
                                          point_source(mesh, Eigen::RowVector3d(10, 0, 5), v)};
  auto o = small_options();
  o.iterations = 200;
  const auto a = fit_multi_pinn(mesh.points, mesh.tets, face, maps, o);
  const auto b = fit_multi_pinn(mesh.points, mesh.tets, face, maps, o);
  ASSERT_EQ(a.times.size(), 2u);
  EXPECT_EQ(a.speed.size(), mesh.num_points());
  EXPECT_TRUE(a.times[0].isApprox(b.times[0]) && a.times[1].isApprox(b.times[1]) &&
              a.speed.isApprox(b.speed));
  // The two maps are fitted to their own observations: each is closer to its own truth.
  EXPECT_LT(relative_error(a.times[0], maps[0]), relative_error(a.times[0], maps[1]));
  EXPECT_LT(relative_error(a.times[1], maps[1]), relative_error(a.times[1], maps[0]));
}

TEST(MultiPinn, BadInputGivesOneLineErrors) {
  const auto mesh = geometry::cube_mesh(2, 1.0);
  const Eigen::VectorXi all = Eigen::VectorXi::Ones(mesh.num_points());
  const Eigen::VectorXd t = Eigen::VectorXd::Zero(mesh.num_points());
  EXPECT_EQ(error_of([&] { fit_multi_pinn(mesh.points, mesh.tets, all, {}); }),
            "multi-PINN: no activation maps to fit");
  EXPECT_EQ(error_of([&] { fit_multi_pinn(mesh.points, mesh.tets, all, {Eigen::VectorXd::Zero(3)}); }),
            "multi-PINN: a map has 3 values, the mesh 27 nodes");
  EXPECT_EQ(error_of([&] {
              fit_multi_pinn(mesh.points, mesh.tets, Eigen::VectorXi::Zero(mesh.num_points()), {t});
            }),
            "multi-PINN: no observed node holds a finite activation time");
  MultiPinnOptions o;
  o.iterations = 0;
  EXPECT_EQ(error_of([&] { fit_multi_pinn(mesh.points, mesh.tets, all, {t}, o); }),
            "multi-PINN: iterations must be at least 1, got 0");
}
