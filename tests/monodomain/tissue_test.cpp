// Tissue: diffusion operators (consistency, conservation, symmetry, stability limit), uniform
// states, stimulus timing, conduction-velocity convergence and the .vti writer.

#include "monodomain/tissue.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/vti_io.hpp"
#include "tests/monodomain/mass_reference.hpp"

namespace metaeik::monodomain {
namespace {

Grid grid3(int nx, int ny, int nz, double h) { return Grid{nx, ny, nz, h, h, h}; }

std::array<double, 9> tensor(double dl, double dt, std::array<double, 3> f) {
  TissueOptions o;
  o.d_long = dl;
  o.d_trans = dt;
  o.fibre = f;
  return diffusion_tensor(o);
}

std::vector<double> random_field(std::size_t n, int seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

/// Control volume of a vertex-centred node (half/quarter/eighth on faces/edges/corners).
double volume(const Grid& g, std::size_t c) {
  const int i = c % g.nx, j = (c / g.nx) % g.ny, k = c / (g.nx * g.ny);
  auto w = [](int idx, int n, double h) { return n == 1 ? 1.0 : (idx == 0 || idx == n - 1 ? h / 2 : h); };
  return w(i, g.nx, g.dx) * w(j, g.ny, g.dy) * w(k, g.nz, g.dz);
}

TEST(Diffusion, UniformFieldHasZeroFluxExactly) {
  const Grid g = grid3(7, 6, 5, 0.3);
  std::vector<double> v(g.size(), -85.23), out(g.size(), 1.0);
  apply_diffusion(g, tensor(0.2, 0.03, {1, 2, 0.5}), v.data(), out.data(), "fd");
  for (double x : out) EXPECT_EQ(x, 0.0);
  apply_diffusion(g, tensor(0.2, 0.03, {0, 1, 0}), v.data(), out.data(), "fem");
  for (double x : out) EXPECT_EQ(x, 0.0);
}

TEST(Diffusion, ConservesTheIntegral) {
  // No-flux boundaries: Σ volume · ∇·(D∇V) = 0 for any V (fd with oblique fibres), and
  // 1ᵀ M (M⁻¹ K V) = 0 for the consistent-mass scheme.
  const Grid g = grid3(9, 7, 5, 0.25);
  const auto v = random_field(g.size(), 3);
  std::vector<double> out(g.size());
  apply_diffusion(g, tensor(0.1, 0.02, {1, 0.7, -0.4}), v.data(), out.data(), "fd");
  double sum = 0, scale = 0;
  for (std::size_t c = 0; c < g.size(); ++c)
    sum += volume(g, c) * out[c], scale += volume(g, c) * std::abs(out[c]);
  EXPECT_LT(std::abs(sum), 1e-12 * scale);
  apply_diffusion(g, tensor(0.1, 0.02, {0, 0, 1}), v.data(), out.data(), "fem");
  const auto m_out = test::apply_mass(g, out);
  sum = scale = 0;
  for (double x : m_out) sum += x, scale += std::abs(x);
  EXPECT_LT(std::abs(sum), 1e-12 * scale);
}

TEST(Diffusion, FiniteDifferenceOperatorIsSelfAdjoint) {
  const Grid g = grid3(8, 6, 4, 0.2);
  const auto D = tensor(0.0953, 0.01258, {1, 0, 0});
  const auto u = random_field(g.size(), 1), v = random_field(g.size(), 2);
  std::vector<double> lu(g.size()), lv(g.size());
  apply_diffusion(g, D, u.data(), lu.data());
  apply_diffusion(g, D, v.data(), lv.data());
  double a = 0, b = 0;
  for (std::size_t c = 0; c < g.size(); ++c)
    a += volume(g, c) * u[c] * lv[c], b += volume(g, c) * lu[c] * v[c];
  EXPECT_NEAR(a, b, 1e-12 * std::abs(a));
}

/// Max error of the discrete operator on a cosine mode. The mode satisfies no-flux exactly only for
/// a diagonal D; with oblique fibres n·D∇v ≠ 0 on the boundary, so only nodes at least `margin`
/// away from the boundary are compared.
double mode_error(const std::string& scheme, int cells, const std::array<double, 3>& fibre,
                  double margin = 0) {
  const double L = 2.0, h = L / cells;
  const Grid g = grid3(cells + 1, cells + 1, 1, h);
  const auto D = tensor(0.1, 0.04, fibre);
  const double k = M_PI / L;
  std::vector<double> v(g.size()), out(g.size());
  for (std::size_t c = 0; c < g.size(); ++c) {
    const auto x = g.point(c);
    v[c] = std::cos(k * x[0]) * std::cos(k * x[1]);
  }
  apply_diffusion(g, D, v.data(), out.data(), scheme);
  double err = 0;
  for (std::size_t c = 0; c < g.size(); ++c) {
    const auto x = g.point(c);
    // ∇·(D∇v) = −k²(Dxx + Dyy) v + 2 Dxy k² sin(kx) sin(ky)
    const double exact =
        -k * k * (D[0] + D[4]) * v[c] + 2 * D[1] * k * k * std::sin(k * x[0]) * std::sin(k * x[1]);
    if (std::min({x[0], x[1], L - x[0], L - x[1]}) < margin - 1e-12) continue;
    err = std::max(err, std::abs(out[c] - exact));
  }
  return err;
}

TEST(Diffusion, SecondOrderAccurateOnSmoothModes) {
  for (const std::string scheme : {"fd", "fem"}) {
    const double e1 = mode_error(scheme, 16, {1, 0, 0}), e2 = mode_error(scheme, 32, {1, 0, 0});
    EXPECT_NEAR(e1 / e2, 4.0, 0.3) << scheme;
  }
  // Oblique fibres (mixed derivatives) with the fd scheme: second order away from the boundary.
  const double e1 = mode_error("fd", 16, {1, 1, 0}, 0.25), e2 = mode_error("fd", 32, {1, 1, 0}, 0.25);
  EXPECT_NEAR(e1 / e2, 4.0, 0.5);
}

TEST(Diffusion, StabilityLimitIsSharpForTheHighestMode) {
  // The checkerboard (−1)^(i+j+k) is an eigenvector with eigenvalue −4ΣD/h² (fd) or −12ΣD/h²
  // (fem); explicit Euler amplifies it exactly when dt exceeds max_stable_dt.
  const Grid g = grid3(10, 8, 6, 0.2);
  const auto D = tensor(0.0953, 0.01258, {1, 0, 0});
  for (const std::string scheme : {"fd", "fem"}) {
    const double limit = max_stable_dt(g, D, scheme);
    const double sum = (0.0953 + 2 * 0.01258) / 0.04;
    EXPECT_NEAR(limit, scheme == "fd" ? 1 / (2 * sum) : 1 / (6 * sum), 1e-12);
    for (double factor : {0.99, 1.01}) {
      std::vector<double> v(g.size()), out(g.size());
      for (std::size_t c = 0; c < g.size(); ++c) {
        const int i = c % g.nx, j = (c / g.nx) % g.ny, k = c / (g.nx * g.ny);
        v[c] = ((i + j + k) % 2) ? -1.0 : 1.0;
      }
      for (int s = 0; s < 200; ++s) {
        apply_diffusion(g, D, v.data(), out.data(), scheme);
        for (std::size_t c = 0; c < g.size(); ++c) v[c] += factor * limit * out[c];
      }
      const double amp = std::abs(v[0]);
      if (factor < 1)
        EXPECT_LT(amp, 1.0) << scheme;
      else
        EXPECT_GT(amp, 1.0) << scheme;
    }
  }
}

TEST(Tissue, UniformStateStaysUniformAndEqualsTheSingleCell) {
  // fem-svi: every element holds equal states, so the quadrature correction is exactly zero.
  for (const std::string scheme : {"fd", "fem", "fem-svi"}) {
    auto model = make_cell_model("ttp06", "epi");
    TissueOptions o;
    o.grid = grid3(6, 5, 4, 0.25);
    o.d_long = 0.1;
    o.d_trans = 0.02;
    o.fibre = scheme == "fd" ? std::array<double, 3>{1, 1, 1} : std::array<double, 3>{0, 1, 0};
    o.scheme = scheme;
    o.dt = 0.02;
    o.duration = 20;
    const auto res = simulate_tissue(o, *model);
    auto single = make_cell_model("ttp06", "epi");
    auto y = single->initial_state();
    for (long k = 0; k < res.steps; ++k) single->step(y.data(), 1, nullptr, 0.02);
    for (int s = 0; s < res.states.n_states; ++s)
      for (std::size_t c = 0; c < res.states.n_cells; ++c)
        ASSERT_EQ(res.states.at(s, c), y[s]) << scheme << " state " << s;
  }
}

TEST(Tissue, UnstableTimeStepIsRejected) {
  TissueOptions o;
  o.grid = grid3(101, 36, 16, 0.2);
  o.d_long = 0.0953;
  o.d_trans = 0.01258;
  o.dt = 0.2;
  EXPECT_EQ(
      time_step_problem(o),
      "dt = 0.2 ms is unstable for explicit diffusion: must be <= 0.166 ms at dx = 0.2 mm (D_long = 0.0953, "
      "D_trans = 0.01258 mm^2/ms, fd scheme, godunov splitting)");
  o.dt = -0.01;
  EXPECT_EQ(time_step_problem(o), "dt = -0.01 ms: the time step must be positive");
  o.dt = 0.1;
  EXPECT_EQ(time_step_problem(o), "");
  auto model = make_cell_model("ms");
  o.dt = 0.2;
  try {
    simulate_tissue(o, *model);
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tissue: dt = 0.2 ms is unstable", 0), 0u) << e.what();
  }
}

TEST(Stimulus, PeriodicPulses) {
  Stimulus s;
  s.start = 10;
  s.duration = 1;
  s.period = 500;
  s.count = 3;
  EXPECT_FALSE(s.active(9.99));
  EXPECT_TRUE(s.active(10));
  EXPECT_TRUE(s.active(10.99));
  EXPECT_FALSE(s.active(11));
  EXPECT_TRUE(s.active(510.5));
  EXPECT_TRUE(s.active(1010));
  EXPECT_FALSE(s.active(1510));  // only 3 pulses
  s.count = 0;                   // unlimited
  EXPECT_TRUE(s.active(100010.5));
  Stimulus once;
  once.duration = 2;
  EXPECT_TRUE(once.active(0));
  EXPECT_TRUE(once.active(1.95));
  EXPECT_FALSE(once.active(2.0));
  EXPECT_FALSE(once.active(500.5));
}

/// Conduction velocity (mm/ms) of a planar TTP06 wave in a 1D cable between x = 3 and x = 6 mm.
double cable_cv(double h, const std::string& scheme, const std::string& splitting = "godunov",
                double dt = 0.001, double svi_weight = 1) {
  auto model = make_cell_model("ttp06", "epi");
  TissueOptions o;
  o.grid = Grid{static_cast<int>(std::lround(8 / h)) + 1, 1, 1, h, h, h};
  o.d_long = o.d_trans = 0.1;
  o.scheme = scheme;
  o.svi_weight = svi_weight;
  o.splitting = splitting;
  o.dt = dt;
  o.duration = 60;
  o.stop_when_activated = true;
  Stimulus s;
  s.hi = {1.0, 0, 0};
  s.duration = 1;
  s.amplitude = 60;
  o.stimuli.push_back(s);
  const auto r = simulate_tissue(o, *model);
  const double t3 = r.activation_time[o.grid.nearest({3, 0, 0})],
               t6 = r.activation_time[o.grid.nearest({6, 0, 0})];
  return 3.0 / (t6 - t3);
}

TEST(Tissue, PlanarWaveConductionVelocityConvergesUnderRefinement) {
  const double h[4] = {0.2, 0.1, 0.05, 0.025};
  double fd[4], fem[4], svi[4];
  for (int i = 0; i < 4; ++i)
    fd[i] = cable_cv(h[i], "fd"), fem[i] = cable_cv(h[i], "fem"), svi[i] = cable_cv(h[i], "fem-svi");
  for (const double* cv : {fd, fem, svi}) {
    const double d1 = std::abs(cv[1] - cv[0]), d2 = std::abs(cv[2] - cv[1]), d3 = std::abs(cv[3] - cv[2]);
    EXPECT_LT(d2, 0.7 * d1);
    EXPECT_LT(d3, 0.7 * d2);
  }
  // Finite differences converge from below, consistent-mass elements with the nodal ionic current
  // from above, and with the SVI ionic current from below (between fd and fem), to the same CV
  // (≈ 0.63 mm/ms for D = 0.1 mm²/ms).
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(fd[i], fd[i + 1]);
    EXPECT_GT(fem[i], fem[i + 1]);
    EXPECT_LT(svi[i], svi[i + 1]);
    EXPECT_LT(fd[i], svi[i]);
    EXPECT_LT(svi[i], fem[i]);
  }
  EXPECT_NEAR(fd[3], fem[3], 0.005);
  EXPECT_NEAR(svi[3], fem[3], 0.005);
  EXPECT_NEAR(fd[3], 0.63, 0.05);
}

TEST(Tissue, HalfSviBlendCancelsTheLeadingConductionVelocityError) {
  // Nodal (ICI) and SVI ionic currents err by about the same O(h²) amount in opposite directions,
  // so the blend I = (I_nodal + I_SVI)/2 (fem-svi, svi_weight 0.5, the shipped Niederer scheme) is
  // much closer to the converged CV than either.
  const double ref = cable_cv(0.025, "fem", "godunov", 0.001);
  for (double h : {0.2, 0.1}) {
    const double nodal = cable_cv(h, "fem"), svi = cable_cv(h, "fem-svi"),
                 blend = cable_cv(h, "fem-svi", "godunov", 0.001, 0.5);
    EXPECT_LT(std::abs(blend - ref), 0.25 * std::min(std::abs(nodal - ref), std::abs(svi - ref))) << h;
  }
}

TEST(Tissue, StrangAndGodunovSplittingAgree) {
  // Both splittings converge to the same wave; at Δt = 0.01 ms they differ by well under 1 %.
  const double godunov = cable_cv(0.1, "fd", "godunov", 0.01), strang = cable_cv(0.1, "fd", "strang", 0.01);
  EXPECT_NEAR(strang, godunov, 0.01 * godunov);
  EXPECT_NEAR(cable_cv(0.1, "fd", "strang", 0.001), cable_cv(0.1, "fd", "godunov", 0.001), 0.002 * godunov);
}

TEST(Tissue, IsotropicSlabActivationIsSymmetric) {
  // Corner stimulus on a square isotropic grid: the activation map is symmetric under x ↔ y.
  auto model = make_cell_model("ms");
  TissueOptions o;
  o.grid = grid3(20, 20, 1, 0.5);
  o.d_long = o.d_trans = 0.05;
  o.dt = 0.05;
  o.duration = 200;
  o.stop_when_activated = true;
  Stimulus s;
  s.hi = {1, 1, 0};
  s.duration = 2;
  s.amplitude = 0.5;
  o.stimuli.push_back(s);
  const auto r = simulate_tissue(o, *model);
  for (int j = 0; j < 20; ++j)
    for (int i = 0; i < 20; ++i) {
      const double a = r.activation_time[o.grid.index(i, j, 0)], b = r.activation_time[o.grid.index(j, i, 0)];
      ASSERT_FALSE(std::isnan(a));
      ASSERT_EQ(a, b);
    }
  // Activation increases away from the corner.
  EXPECT_LT(r.activation_time[o.grid.index(5, 5, 0)], r.activation_time[o.grid.index(15, 15, 0)]);
}

TEST(VtiIo, RoundTrip) {
  const Grid g{4, 3, 2, 0.5, 0.25, 1.0};
  std::vector<double> a(g.size()), b(g.size());
  for (std::size_t c = 0; c < g.size(); ++c) a[c] = 0.1 * c - 1, b[c] = std::sqrt(c + 0.5);
  const auto path = std::filesystem::temp_directory_path() / "metaeik_vti_roundtrip.vti";
  write_vti(path, g, {{"a", a, false}, {"b", b, true}});
  Grid back;
  const auto ra = read_vti_array(path, "a", &back), rb = read_vti_array(path, "b");
  EXPECT_EQ(back.nx, 4);
  EXPECT_EQ(back.ny, 3);
  EXPECT_EQ(back.nz, 2);
  EXPECT_DOUBLE_EQ(back.dy, 0.25);
  for (std::size_t c = 0; c < g.size(); ++c) {
    EXPECT_EQ(ra[c], a[c]);
    EXPECT_NEAR(rb[c], b[c], 1e-6);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace metaeik::monodomain
