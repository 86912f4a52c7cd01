// Adjoint of the FIM solve (FimSolver::vjp): central finite differences of solve() on irregular meshes
// (jittered two-speed box, generated BiV with a blob scar), per-node and per-tet speeds, anisotropic
// fibre/sheet speeds, onset times; exact identities (speed scaling, onset shift) with the start ball;
// a gradient-descent fit that recovers a smooth speed field; every bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "eikonal/fim.hpp"
#include "eikonal/scar.hpp"
#include "geometry/structured.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/ventricles.hpp"

namespace metaeik::eikonal {
namespace {

using test::error_of;

/// Tolerance 0: the solve runs to its exact discrete fixed point, so differences of it are clean.
FimOptions exact(double source_radius) {
  FimOptions o;
  o.threads = 1;
  o.tolerance = 0.0;
  o.source_radius = source_radius;
  return o;
}

/// A box with its interior nodes moved by up to 15 % of a cell (no symmetric ties between tets).
geometry::TetMesh jittered_box(int cells, double side, unsigned seed) {
  geometry::TetMesh mesh = geometry::box_mesh(cells, cells, cells / 2, {side, side, side / 2});
  const double h = side / cells;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(-0.15 * h, 0.15 * h);
  for (int i = 0; i < mesh.num_points(); ++i)
    for (int d = 0; d < 3; ++d) {
      const double x = mesh.points(i, d), hi = d == 2 ? side / 2 : side;
      if (x > 1e-9 && x < hi - 1e-9) mesh.points(i, d) += jitter(rng);
    }
  return mesh;
}

const geometry::TetMesh& box() {
  static const geometry::TetMesh mesh = jittered_box(8, 16.0, 7);
  return mesh;
}

const geometry::TetMesh& biv() { return test::small_biv(); }

Eigen::Vector3d centroid(const geometry::TetMesh& m, int t) {
  Eigen::Vector3d c = Eigen::Vector3d::Zero();
  for (int k = 0; k < 4; ++k) c += m.points.row(m.tets(t, k)).transpose() / 4.0;
  return c;
}

/// Two-speed medium: 0.6 mm/ms for x < 7 mm, 0.25 beyond (per node or per tet centroid), times a 5 %
/// modulation. Without it, equal speeds make ties: an edge or vertex candidate is shared by every tet
/// around that edge, and with equal slowness they all give the same time (a kink of the min).
SpeedField two_speed(const geometry::TetMesh& m, SpeedField::Location where) {
  SpeedField f;
  f.location = where;
  const bool node = where == SpeedField::Location::kNode;
  f.speed.resize(node ? m.num_points() : m.num_tets());
  for (int i = 0; i < f.speed.size(); ++i) {
    const Eigen::Vector3d x = node ? Eigen::Vector3d(m.points.row(i).transpose()) : centroid(m, i);
    f.speed[i] = (x[0] < 7.0 ? 0.6 : 0.25) * (1.0 + 0.05 * std::sin(0.7 * x[0] + 0.3 * x[1] + 0.5 * x[2]));
  }
  return f;
}

/// Blob scar (0.1 in the scar, smooth 4 mm border to 0.6) times a gentle modulation, so that no two
/// tets share a speed (the start ball's λ has a unique maximiser).
SpeedField scar_field(const geometry::TetMesh& m) {
  ScarSpeedOptions o;
  o.border_width = 4.0;
  BlobOptions b;
  b.bumps = 2;
  b.min_radius = 5.0;
  b.max_radius = 7.0;
  SpeedField f;
  f.speed = scar_speed_field(m, blob_scar_mask(m, b, 3), o);
  for (int i = 0; i < m.num_points(); ++i)
    f.speed[i] *= 1.0 + 0.1 * std::sin(0.31 * m.points(i, 0) + 0.17 * m.points(i, 2));
  return f;
}

/// Smoothly turning fibres (helix-like in z), one per tet.
geometry::Points fibres(const geometry::TetMesh& m) {
  geometry::Points f(m.num_tets(), 3);
  for (int t = 0; t < m.num_tets(); ++t) {
    const Eigen::Vector3d c = centroid(m, t);
    const double a = 0.15 * c[2] + 0.05 * c[0];
    f.row(t) << std::cos(a), std::sin(a), 0.3;
  }
  return f;
}

/// Random positive weights: L = Σ w_x T_x, dL/dT = w.
Eigen::VectorXd weights(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 1.0);
  Eigen::VectorXd w(n);
  for (int i = 0; i < n; ++i) w[i] = u(rng);
  return w;
}

struct FdReport {
  double max_rel = 0.0;  ///< max over the checked components of |fd − adjoint| / |adjoint|
  int checked = 0;
};

/// Central differences of L(θ) = w·T(θ) for the components `index` of a parameter vector that `apply`
/// writes into a copy of the inputs (relative step 1e-6).
FdReport check_fd(const std::function<double(double, int)>& loss_at, const std::function<double(int)>& value,
                  const Eigen::VectorXd& adjoint, const std::vector<int>& index) {
  FdReport r;
  const double scale = adjoint.cwiseAbs().maxCoeff();
  for (int i : index) {
    if (std::abs(adjoint[i]) < 1e-3 * scale) continue;  // too small to measure relative to the rest
    const double h = 1e-6 * std::max(1.0, std::abs(value(i)));
    const double fd = (loss_at(+h, i) - loss_at(-h, i)) / (2 * h);
    r.max_rel = std::max(r.max_rel, std::abs(fd - adjoint[i]) / std::abs(adjoint[i]));
    if (std::getenv("FD_DEBUG") && std::abs(fd - adjoint[i]) > 1e-4 * std::abs(adjoint[i]))
      printf("comp %d fd %.9g adj %.9g fd+ %.9g fd- %.9g\n", i, fd, adjoint[i],
             (loss_at(+h, i) - loss_at(0, i)) / h, (loss_at(0, i) - loss_at(-h, i)) / h);
    ++r.checked;
  }
  if (std::getenv("FD_DEBUG"))
    printf("FD check: %d components, max relative error %.3g\n", r.checked, r.max_rel);
  return r;
}

/// Components to check: the 25 largest |adjoint| and 15 random others.
std::vector<int> pick(const Eigen::VectorXd& adjoint, unsigned seed) {
  std::vector<int> order(adjoint.size());
  for (int i = 0; i < int(order.size()); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return std::abs(adjoint[a]) > std::abs(adjoint[b]); });
  std::vector<int> out(order.begin(), order.begin() + std::min<size_t>(25, order.size()));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> any(0, int(adjoint.size()) - 1);
  for (int k = 0; k < 15; ++k) out.push_back(any(rng));
  return out;
}

/// FD check of ∂L/∂speed, ∂L/∂transverse_ratio (anisotropic) and ∂L/∂onset.
void expect_gradient_matches_fd(const geometry::TetMesh& mesh, const SpeedField& field,
                                const std::vector<Source>& sources, const FimOptions& options) {
  const FimSolver solver(mesh, options);
  SolveRecord record;
  const SolveResult base = solver.solve(field, sources, record);
  ASSERT_TRUE(base.stats.converged);
  const Eigen::VectorXd w = weights(mesh.num_points(), 11);
  const SolveGradient g = solver.vjp(record, w);
  ASSERT_EQ(g.speed.size(), field.speed.size());
  ASSERT_EQ(g.onset.size(), Eigen::Index(sources.size()));

  const auto speed_loss = [&](double h, int i) {
    SpeedField f = field;
    f.speed[i] += h;
    return w.dot(solver.solve(f, sources).times);
  };
  const FdReport speed = check_fd(
      speed_loss, [&](int i) { return field.speed[i]; }, g.speed, pick(g.speed, 5));
  EXPECT_GE(speed.checked, 20);
  EXPECT_LE(speed.max_rel, 1e-4) << "speed, " << speed.checked << " components";

  const auto onset_loss = [&](double h, int j) {
    std::vector<Source> s = sources;
    s[j].time += h;
    return w.dot(solver.solve(field, s).times);
  };
  std::vector<int> all(sources.size());
  for (size_t j = 0; j < sources.size(); ++j) all[j] = int(j);
  const FdReport onset = check_fd(
      onset_loss, [&](int j) { return sources[j].time; }, g.onset, all);
  EXPECT_EQ(onset.checked, int(sources.size()));
  EXPECT_LE(onset.max_rel, 1e-4) << "onset";

  if (field.fibers.rows() == 0) {
    EXPECT_EQ(g.fibre_speed.size(), 0);
    return;
  }
  ASSERT_EQ(g.fibre_speed.size(), field.speed.size());
  ASSERT_EQ(g.sheet_speed.size(), field.speed.size());
  // ∂/∂speed moves fibre and sheet speed together; ∂/∂ratio moves the sheet speed alone.
  EXPECT_LE((g.speed - g.fibre_speed - field.transverse_ratio * g.sheet_speed).cwiseAbs().maxCoeff(),
            1e-12 * g.speed.cwiseAbs().maxCoeff());
  const auto ratio_loss = [&](double h, int) {
    SpeedField f = field;
    f.transverse_ratio += h;
    return w.dot(solver.solve(f, sources).times);
  };
  const Eigen::VectorXd gr = Eigen::VectorXd::Constant(1, g.transverse_ratio);
  const FdReport ratio = check_fd(ratio_loss, [&](int) { return field.transverse_ratio; }, gr, {0});
  EXPECT_EQ(ratio.checked, 1);
  EXPECT_LE(ratio.max_rel, 1e-4) << "transverse ratio";
}

const std::vector<Source> kTwoSources = {{0, 0.0}, {80, 4.0}};

TEST(FimAdjoint, PerNodeSpeedsTwoSpeedBoxMatchFiniteDifferences) {
  expect_gradient_matches_fd(box(), two_speed(box(), SpeedField::Location::kNode), kTwoSources, exact(0.0));
}

TEST(FimAdjoint, PerTetSpeedsTwoSpeedBoxMatchFiniteDifferences) {
  expect_gradient_matches_fd(box(), two_speed(box(), SpeedField::Location::kTet), kTwoSources, exact(0.0));
}

TEST(FimAdjoint, AnisotropicTwoSpeedBoxMatchesFiniteDifferences) {
  SpeedField f = two_speed(box(), SpeedField::Location::kTet);
  f.fibers = fibres(box());
  f.transverse_ratio = 0.45;
  expect_gradient_matches_fd(box(), f, kTwoSources, exact(0.0));
}

TEST(FimAdjoint, BivWithScarMatchesFiniteDifferencesWithStartBall) {
  // Default exact start ball (5 cells) on a field without ties: the ball's λ is differentiable.
  expect_gradient_matches_fd(biv(), scar_field(biv()), {{3, 0.0}, {200, 6.0}}, exact(5.0));
}

TEST(FimAdjoint, AnisotropicBivWithScarMatchesFiniteDifferencesWithStartBall) {
  SpeedField f = scar_field(biv());
  f.fibers = fibres(biv());
  f.transverse_ratio = 0.5;
  expect_gradient_matches_fd(biv(), f, {{3, 0.0}, {200, 6.0}}, exact(5.0));
}

// T(c·v, t0 + τ) = t0 + τ + (T − t0)/c for one source: Σ v ∂L/∂v = −w·(T − t0) and ∂L/∂t0 = Σ w,
// exactly, including the ties of a homogeneous start ball (one-sided there, exact along this direction).
TEST(FimAdjoint, ScalingAndShiftIdentitiesHoldWithTheStartBall) {
  for (const auto where : {SpeedField::Location::kNode, SpeedField::Location::kTet}) {
    const FimSolver solver(box(), exact(5.0));
    const SpeedField f = two_speed(box(), where);
    SolveRecord record;
    const std::vector<Source> src = {{0, 2.5}};
    const Eigen::VectorXd T = solver.solve(f, src, record).times;
    const Eigen::VectorXd w = weights(box().num_points(), 3);
    const SolveGradient g = solver.vjp(record, w);
    const double expected = -w.dot((T.array() - 2.5).matrix());
    EXPECT_NEAR(f.speed.dot(g.speed), expected, 1e-9 * std::abs(expected));
    EXPECT_NEAR(g.onset[0], w.sum(), 1e-9 * w.sum());
  }
}

// Gradient descent on log-speeds with complete observations recovers a smooth speed field.
TEST(FimAdjoint, GradientDescentRecoversASmoothSpeedField) {
  const geometry::TetMesh mesh = jittered_box(6, 12.0, 5);
  const int n = mesh.num_points();
  Eigen::VectorXd truth(n);
  for (int i = 0; i < n; ++i)
    truth[i] = 0.45 + 0.15 * std::sin(0.3 * mesh.points(i, 0)) * std::cos(0.2 * mesh.points(i, 1));
  FimOptions o = exact(0.0);
  o.tolerance = 1e-9;
  const FimSolver solver(mesh, o);
  const std::vector<Source> src = {{0, 0.0}, {geometry::box_point_index(6, 6, 3, 6, 6), 0.0}};
  const Eigen::VectorXd observed = solver.solve({SpeedField::Location::kNode, truth, {}, 1.0}, src).times;
  const auto loss = [&](const Eigen::VectorXd& v, Eigen::VectorXd* grad) {
    SolveRecord record;
    const Eigen::VectorXd r =
        solver.solve({SpeedField::Location::kNode, v, {}, 1.0}, src, record).times - observed;
    if (grad) *grad = solver.vjp(record, 2.0 * r / n).speed.cwiseProduct(v);  // ∂/∂log v
    return r.squaredNorm() / n;
  };
  Eigen::VectorXd v = Eigen::VectorXd::Constant(n, 0.45), grad;
  const double initial_loss = loss(v, nullptr), initial_error = (v - truth).norm();
  double f = loss(v, &grad), step = 0.05;
  for (int it = 0; it < 150 && f > 1e-9; ++it) {  // steepest descent with backtracking (Armijo)
    for (;;) {
      const Eigen::VectorXd trial = (v.array().log() - step * grad.array()).exp().matrix();
      const double ft = loss(trial, nullptr);
      if (ft <= f - 1e-4 * step * grad.squaredNorm() || step < 1e-8) {
        v = trial;
        f = loss(v, &grad);
        step *= 2.0;
        break;
      }
      step *= 0.5;
    }
  }
  EXPECT_LT(f, 1e-3 * initial_loss);
  EXPECT_LT((v - truth).norm(), 0.35 * initial_error);
  const double corr =
      ((v.array() - v.mean()) * (truth.array() - truth.mean())).sum() /
      std::sqrt((v.array() - v.mean()).square().sum() * (truth.array() - truth.mean()).square().sum());
  EXPECT_GT(corr, 0.9);
}

TEST(FimAdjoint, BadInputsAreOneLineErrors) {
  const geometry::TetMesh& mesh = box();
  const FimSolver solver(mesh, exact(0.0));
  const SpeedField f = SpeedField::uniform(mesh, 0.5);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(mesh.num_points());
  SolveRecord empty;
  EXPECT_EQ(error_of([&] { solver.vjp(empty, ones); }),
            "vjp: no recorded solve (call solve(speed, sources, record) first)");

  SolveRecord record;
  solver.solve(f, {{0, 0.0}}, record);
  EXPECT_EQ(error_of([&] { solver.vjp(record, Eigen::VectorXd::Ones(5)); }),
            "vjp: dL/dT has 5 values, expected " + std::to_string(mesh.num_points()) + " (one per node)");
  Eigen::VectorXd nan = ones;
  nan[7] = std::nan("");
  EXPECT_EQ(error_of([&] { solver.vjp(record, nan); }), "vjp: dL/dT at node 7 is not finite (nan)");
  const FimSolver other(mesh, exact(0.0));
  EXPECT_EQ(error_of([&] { other.vjp(record, ones); }), "vjp: the record was made by another FimSolver");

  FimOptions capped = exact(0.0);
  capped.max_iterations = 1;
  const FimSolver short_solver(mesh, capped);
  SolveRecord unconverged;
  EXPECT_FALSE(short_solver.solve(f, {{0, 0.0}}, unconverged).stats.converged);
  EXPECT_EQ(error_of([&] { short_solver.vjp(unconverged, ones); }),
            "vjp: the recorded solve did not converge within max_iterations = 1 sweeps; no gradient");

  // Two separate tets: the second is not reached from a source in the first.
  geometry::TetMesh two;
  two.points.resize(8, 3);
  two.points << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 5, 0, 0, 6, 0, 0, 5, 1, 0, 5, 0, 1;
  two.tets.resize(2, 4);
  two.tets << 0, 1, 2, 3, 4, 5, 6, 7;
  const FimSolver split(two, exact(0.0));
  SolveRecord rec2;
  solver.solve(f, {{0, 0.0}}, rec2);  // (a record of the other solver does not count)
  split.solve(SpeedField::uniform(two, 1.0), {{0, 0.0}}, rec2);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(8);
  g[1] = 1.0;
  EXPECT_NO_THROW(split.vjp(rec2, g));  // zero gradient at unreached nodes is fine
  g[5] = 0.5;
  EXPECT_EQ(error_of([&] { split.vjp(rec2, g); }),
            "vjp: node 5 is not reached by any source (T = inf) but has dL/dT = 0.5");
}

// Recording changes nothing in the times; record and gradient do not depend on the thread count
// (the 21³ cube is above the size where a solve runs parallel).
TEST(FimAdjoint, RecordedSolveGivesTheSameTimesAndGradientForAnyThreadCount) {
  const geometry::TetMesh mesh = geometry::cube_mesh(20, 20.0);
  SpeedField f = SpeedField::uniform(mesh, 0.5);
  for (int i = 0; i < mesh.num_points(); ++i) f.speed[i] *= 1.0 + 0.2 * std::sin(0.4 * mesh.points(i, 0));
  const Eigen::VectorXd w = weights(mesh.num_points(), 2);
  std::vector<Eigen::VectorXd> grads;
  for (int threads : {1, 2}) {
    FimOptions o;
    o.threads = threads;
    const FimSolver solver(mesh, o);
    SolveRecord record;
    const Eigen::VectorXd a = solver.solve(f, {{3, 0.0}}, record).times,
                          b = solver.solve(f, {{3, 0.0}}).times;
    EXPECT_EQ((a - b).cwiseAbs().maxCoeff(), 0.0) << threads << " threads";
    EXPECT_FALSE(record.empty());
    grads.push_back(solver.vjp(record, w).speed);
  }
  EXPECT_EQ((grads[0] - grads[1]).cwiseAbs().maxCoeff(), 0.0);
}

}  // namespace
}  // namespace metaeik::eikonal
