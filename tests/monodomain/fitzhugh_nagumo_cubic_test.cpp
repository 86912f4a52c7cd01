// The cubic FitzHugh–Nagumo cell (du/dt = c[u(u − a)(1 − u) − w + I], dw/dt = e u − g w):
// right-hand side against finite differences of a fine trajectory, rest point, Euler step, factory.

#include "monodomain/fitzhugh_nagumo_cubic.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {
namespace {

TEST(FhnCubic, RhsIsTheFormula) {
  FitzHughNagumoCubic m({0.4, 10.0, 0.04, 0.16, 0.08});
  const std::vector<double> y{0.3, -0.1, 0.02, 0.05};  // two cells: u = {0.3, -0.1}, w = {0.02, 0.05}
  const double stim[2] = {0.0, 0.5};
  std::vector<double> f(4);
  m.rhs(y.data(), 2, stim, f.data());
  EXPECT_NEAR(f[0], 10 * (0.3 * (0.3 - 0.4) * 0.7 - 0.02 + 0.08), 1e-14);
  EXPECT_NEAR(f[1], 10 * (-0.1 * (-0.5) * 1.1 - 0.05 + 0.08) + 0.5, 1e-14);
  EXPECT_NEAR(f[2], 0.04 * 0.3 - 0.16 * 0.02, 1e-14);
  EXPECT_NEAR(f[3], 0.04 * -0.1 - 0.16 * 0.05, 1e-14);
}

TEST(FhnCubic, RhsMatchesCentralDifferencesOfAFineTrajectory) {
  // RK4 with h = 1e-4 from (0.5, 0); at several times (d/dt by central differences) = rhs.
  FitzHughNagumoCubic m({0.4, 10.0, 0.04, 0.16, 0.08});
  auto f = [&](const std::vector<double>& y) {
    std::vector<double> d(2);
    m.rhs(y.data(), 1, nullptr, d.data());
    return d;
  };
  const double h = 1e-4;
  std::vector<double> y{0.5, 0.0};
  std::vector<std::vector<double>> traj{y};
  for (int k = 0; k < 200000; ++k) {  // 20 ms
    auto k1 = f(y), y2 = y, y3 = y, y4 = y;
    for (int s = 0; s < 2; ++s) y2[s] += h / 2 * k1[s];
    auto k2 = f(y2);
    for (int s = 0; s < 2; ++s) y3[s] += h / 2 * k2[s];
    auto k3 = f(y3);
    for (int s = 0; s < 2; ++s) y4[s] += h * k3[s];
    auto k4 = f(y4);
    for (int s = 0; s < 2; ++s) y[s] += h / 6 * (k1[s] + 2 * k2[s] + 2 * k3[s] + k4[s]);
    traj.push_back(y);
  }
  for (int i : {1000, 5000, 20000, 60000, 150000}) {
    const auto d = f(traj[i]);
    for (int s = 0; s < 2; ++s) {
      const double fd = (traj[i + 1][s] - traj[i - 1][s]) / (2 * h);
      EXPECT_NEAR(d[s], fd, 1e-6 * (1 + std::abs(d[s]))) << "t = " << i * h << " state " << s;
    }
  }
}

TEST(FhnCubic, RestPointIsAFixedPoint) {
  for (double I : {0.0, 0.08, 0.12}) {
    FitzHughNagumoCubic m({0.4, 10.0, 0.04, 0.16, I});
    const auto y0 = m.initial_state();
    std::vector<double> d(2);
    m.rhs(y0.data(), 1, nullptr, d.data());
    EXPECT_NEAR(d[0], 0.0, 1e-12) << "I = " << I;
    EXPECT_NEAR(d[1], 0.0, 1e-12) << "I = " << I;
  }
  EXPECT_EQ(FitzHughNagumoCubic().initial_state(), (std::vector<double>{0.0, 0.0}));
}

TEST(FhnCubic, StepIsForwardEuler) {
  FitzHughNagumoCubic m;
  std::vector<double> y{0.5, 0.01}, d(2);
  m.rhs(y.data(), 1, nullptr, d.data());
  const std::vector<double> expected{0.5 + 0.01 * d[0], 0.01 + 0.01 * d[1]};
  m.step(y.data(), 1, nullptr, 0.01);
  EXPECT_DOUBLE_EQ(y[0], expected[0]);
  EXPECT_DOUBLE_EQ(y[1], expected[1]);
}

TEST(FhnCubic, FactoryReadsParametersAndRejectsUnknownOnes) {
  auto m = make_cell_model("fhn-cubic", "", core::Json{{"i_app", 0.08}, {"a", 0.3}}, "cfg.json");
  const auto& p = dynamic_cast<FitzHughNagumoCubic&>(*m).parameters();
  EXPECT_EQ(p.i_app, 0.08);
  EXPECT_EQ(p.a, 0.3);
  EXPECT_EQ(m->name(), "fhn-cubic");
  try {
    make_cell_model("fhn-cubic", "", core::Json{{"tau", 1.0}}, "cfg.json");
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "cfg.json: key 'cell.parameters.tau': unknown key");
  }
}

}  // namespace
}  // namespace metaeik::monodomain
