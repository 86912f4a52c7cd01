// SVI ionic current (ionic_quadrature.hpp) against a naive dense finite-element assembly, its
// exactness on uniform states and on currents that are affine in the states, and the mass solve.

#include "monodomain/ionic_quadrature.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "monodomain/cell_model.hpp"
#include "tests/monodomain/mass_reference.hpp"

namespace metaeik::monodomain {
namespace {

/// Dense Gaussian elimination with partial pivoting (the reference's M⁻¹).
std::vector<double> dense_solve(std::vector<double> A, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t p = k;
    for (std::size_t i = k + 1; i < n; ++i)
      if (std::abs(A[i * n + k]) > std::abs(A[p * n + k])) p = i;
    for (std::size_t j = 0; j < n; ++j) std::swap(A[k * n + j], A[p * n + j]);
    std::swap(b[k], b[p]);
    for (std::size_t i = k + 1; i < n; ++i) {
      const double f = A[i * n + k] / A[k * n + k];
      for (std::size_t j = k; j < n; ++j) A[i * n + j] -= f * A[k * n + j];
      b[i] -= f * b[k];
    }
  }
  std::vector<double> x(n);
  for (std::size_t k = n; k-- > 0;) {
    double s = b[k];
    for (std::size_t j = k + 1; j < n; ++j) s -= A[k * n + j] * x[j];
    x[k] = s / A[k * n + k];
  }
  return x;
}

/// Naive SVI: loop over elements and 2-point Gauss rules per axis in physical coordinates,
/// assemble M_ij = ∫ φ_i φ_j and b_i = ∫ φ_i I(Σ_j φ_j y_j) densely and solve M x = b.
/// With voltage_only, the states other than V are those of the element node nearest to the point.
std::vector<double> naive_svi(const Grid& g, const CellStates& y, const CellModel& model,
                              bool voltage_only = false) {
  const std::size_t n = g.size();
  const int nn[3] = {g.nx, g.ny, g.nz};
  const double h[3] = {g.dx, g.dy, g.dz};
  std::vector<double> M(n * n, 0.0), b(n, 0.0);
  const double gp[2] = {0.5 - 0.5 / std::sqrt(3.0), 0.5 + 0.5 / std::sqrt(3.0)};
  const int ne[3] = {std::max(nn[0] - 1, 1), std::max(nn[1] - 1, 1), std::max(nn[2] - 1, 1)};
  for (int ek = 0; ek < ne[2]; ++ek)
    for (int ej = 0; ej < ne[1]; ++ej)
      for (int ei = 0; ei < ne[0]; ++ei) {
        const int e[3] = {ei, ej, ek};
        // Nodes of the element and 1D rules: one point of weight 1 on an axis with a single node.
        for (int qz = 0; qz < (nn[2] > 1 ? 2 : 1); ++qz)
          for (int qy = 0; qy < (nn[1] > 1 ? 2 : 1); ++qy)
            for (int qx = 0; qx < (nn[0] > 1 ? 2 : 1); ++qx) {
              const int qa[3] = {qx, qy, qz};
              double weight = 1;
              std::vector<std::size_t> nodes;
              std::vector<double> phi;
              std::size_t nearest = 0;
              for (int a = 0; a < 3; ++a)
                if (nn[a] > 1) weight *= h[a] / 2;
              for (int lz = 0; lz < (nn[2] > 1 ? 2 : 1); ++lz)
                for (int ly = 0; ly < (nn[1] > 1 ? 2 : 1); ++ly)
                  for (int lx = 0; lx < (nn[0] > 1 ? 2 : 1); ++lx) {
                    const int la[3] = {lx, ly, lz};
                    double p = 1;
                    for (int a = 0; a < 3; ++a)
                      if (nn[a] > 1) p *= la[a] ? gp[qa[a]] : 1 - gp[qa[a]];
                    nodes.push_back(g.index(e[0] + lx, e[1] + ly, e[2] + lz));
                    phi.push_back(p);
                    if (lx == qx && ly == qy && lz == qz) nearest = nodes.back();
                  }
              std::vector<double> yq(y.n_states, 0.0);
              for (int s = 0; s < y.n_states; ++s)
                for (std::size_t l = 0; l < nodes.size(); ++l) yq[s] += phi[l] * y.at(s, nodes[l]);
              if (voltage_only)
                for (int s = 1; s < y.n_states; ++s) yq[s] = y.at(s, nearest);
              double iq = 0;
              model.ionic_current(yq.data(), 1, &iq);
              for (std::size_t l = 0; l < nodes.size(); ++l) {
                b[nodes[l]] += weight * phi[l] * iq;
                for (std::size_t m = 0; m < nodes.size(); ++m)
                  M[nodes[l] * n + nodes[m]] += weight * phi[l] * phi[m];
              }
            }
      }
  return dense_solve(M, b);
}

/// TTP06 states around rest with a random voltage in [−90, 30] mV and perturbed gates and
/// concentrations (all positive).
CellStates random_ttp06_states(const CellModel& model, std::size_t n, int seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  CellStates y = model.make_states(n);
  for (std::size_t c = 0; c < n; ++c) {
    y.at(0, c) = -90 + 120 * u(rng);
    for (int s = 1; s < y.n_states; ++s) y.at(s, c) *= 0.7 + 0.6 * u(rng);
  }
  return y;
}

class SviAgainstNaive : public ::testing::TestWithParam<std::tuple<Grid, bool>> {};

TEST_P(SviAgainstNaive, MatchesTheDenseAssembly) {
  const auto [g, voltage_only] = GetParam();
  auto model = make_cell_model("ttp06", "epi");
  const CellStates y = random_ttp06_states(*model, g.size(), 7);
  std::vector<double> i_nodal(g.size()), r(g.size());
  model->ionic_current(y.data.data(), g.size(), i_nodal.data());
  IonicQuadrature quad(g, voltage_only ? SviStates::kVoltage : SviStates::kAll);
  quad.correction(y, *model, r.data());
  const auto ref = naive_svi(g, y, *model, voltage_only);
  double scale = 0;
  for (double x : ref) scale = std::max(scale, std::abs(x));
  for (std::size_t c = 0; c < g.size(); ++c)
    EXPECT_NEAR(i_nodal[c] + r[c], ref[c], 1e-9 * scale) << "node " << c;
  // The correction is not negligible for such rough states (SVI ≠ ICI).
  double rmax = 0;
  for (double x : r) rmax = std::max(rmax, std::abs(x));
  EXPECT_GT(rmax, 1e-3 * scale);
}

INSTANTIATE_TEST_SUITE_P(Grids, SviAgainstNaive,
                         ::testing::Combine(::testing::Values(Grid{7, 1, 1, 0.3, 1, 1},
                                                              Grid{5, 4, 1, 0.3, 0.2, 1},
                                                              Grid{4, 3, 3, 0.5, 0.2, 0.25}),
                                            ::testing::Bool()));

TEST(IonicQuadrature, UniformStateHasExactlyZeroCorrection) {
  const Grid g{6, 5, 4, 0.2, 0.2, 0.2};
  auto model = make_cell_model("ttp06", "epi");
  const CellStates y = model->make_states(g.size());
  std::vector<double> r(g.size(), 1.0);
  IonicQuadrature quad(g);
  quad.correction(y, *model, r.data());
  for (double x : r) EXPECT_EQ(x, 0.0);
  EXPECT_EQ(quad.evaluated_elements(), 0u);
}

TEST(IonicQuadrature, CurrentAffineInTheStatesGivesTheNodalCurrent) {
  // FitzHugh–Nagumo with a uniform u: the current c(w − u + u³/3) − i_app is affine in w, so the
  // interpolated current equals the current of the interpolated state and SVI = ICI.
  const Grid g{6, 5, 4, 0.3, 0.2, 0.25};
  auto model = make_cell_model("fhn");
  CellStates y = model->make_states(g.size());
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (std::size_t c = 0; c < g.size(); ++c) y.at(0, c) = 0.4, y.at(1, c) = u(rng);
  std::vector<double> r(g.size());
  IonicQuadrature quad(g);
  quad.correction(y, *model, r.data());
  for (double x : r) EXPECT_NEAR(x, 0.0, 1e-13);
  EXPECT_EQ(quad.evaluated_elements(), static_cast<std::size_t>(5 * 4 * 3));
}

TEST(IonicQuadrature, IonicCurrentIsWhatStepAppliesToV) {
  // V(t + dt) = V − dt (I_ion + ... ) with no stimulus, for every model.
  for (const char* name : {"fhn", "ms", "ttp06"}) {
    auto model = make_cell_model(name);
    auto y = model->initial_state();
    y[0] += name == std::string("ttp06") ? 40.0 : 0.3;
    double i = 0;
    auto z = y;
    model->step(z.data(), 1, nullptr, 0.01);  // builds the TTP06 tables
    z = y;
    model->ionic_current(y.data(), 1, &i);
    model->step(z.data(), 1, nullptr, 0.01);
    EXPECT_NEAR(z[0], y[0] - 0.01 * i, 1e-12 * std::max(1.0, std::abs(y[0]))) << name;
  }
}

TEST(IonicQuadrature, ResultIsIndependentOfTheThreadCount) {
  const Grid g{40, 24, 12, 0.2, 0.2, 0.2};  // large enough for the parallel loops
  auto model = make_cell_model("ttp06", "epi");
  const CellStates y = random_ttp06_states(*model, g.size(), 11);
  std::vector<double> r1(g.size()), r2(g.size());
  IonicQuadrature quad(g);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  quad.correction(y, *model, r1.data());
  omp_set_num_threads(2);
  quad.correction(y, *model, r2.data());
  omp_set_num_threads(threads);
  for (std::size_t c = 0; c < g.size(); ++c) ASSERT_EQ(r1[c], r2[c]) << c;
}

TEST(IonicQuadrature, MassSolveInvertsTheConsistentMassMatrix) {
  const Grid g{6, 5, 4, 0.3, 0.2, 0.25};
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(g.size()), v(g.size());
  for (auto& a : x) a = u(rng);
  // v = M x / (dx·dy·dz): the mass matrix without the spacings, which is what solve_mass_axis inverts.
  v = test::apply_mass(g, x);
  for (auto& e : v) e /= g.dx * g.dy * g.dz;
  for (int a = 0; a < 3; ++a) solve_mass_axis(g, a, v.data());
  for (std::size_t c = 0; c < g.size(); ++c) EXPECT_NEAR(v[c], x[c], 1e-13);
}

}  // namespace
}  // namespace metaeik::monodomain
