// Cell models: FHN and MS against a tiny-step RK4 reference, TTP06 states, step/rhs consistency
// and the published single-cell action potential.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/error.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/fitzhugh_nagumo.hpp"
#include "monodomain/mitchell_schaeffer.hpp"
#include "monodomain/single_cell.hpp"
#include "monodomain/ten_tusscher.hpp"

namespace metaeik::monodomain {
namespace {

using Rhs = std::function<std::vector<double>(double t, const std::vector<double>& y)>;

/// Classical RK4 with a tiny step: the reference solution.
std::vector<double> rk4(const Rhs& f, std::vector<double> y, double t_end, double h) {
  const long n = std::lround(t_end / h);
  for (long k = 0; k < n; ++k) {
    const double t = k * h;
    auto axpy = [](const std::vector<double>& a, const std::vector<double>& b, double s) {
      std::vector<double> r(a);
      for (std::size_t i = 0; i < r.size(); ++i) r[i] += s * b[i];
      return r;
    };
    const auto k1 = f(t, y), k2 = f(t + h / 2, axpy(y, k1, h / 2)), k3 = f(t + h / 2, axpy(y, k2, h / 2)),
               k4 = f(t + h, axpy(y, k3, h));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  return y;
}

/// The model's own step() from t = 0 to t_end with a stimulus pulse on [1, 2).
std::vector<double> integrate(CellModel& m, double t_end, double dt, double amp) {
  std::vector<double> y = m.initial_state();
  const long n = std::lround(t_end / dt);
  for (long k = 0; k < n; ++k) {
    const double t = k * dt;
    const double stim = (t >= 1 - 1e-9 && t < 2 - 1e-9) ? amp : 0.0;
    m.step(y.data(), 1, &stim, dt);
  }
  return y;
}

double pulse(double t, double amp) { return (t >= 1 && t < 2) ? amp : 0.0; }

TEST(FitzHughNagumo, RestStateIsAnEquilibrium) {
  FitzHughNagumo m;
  const auto y = m.initial_state();
  std::vector<double> d(2);
  m.rhs(y.data(), 1, nullptr, d.data());
  EXPECT_NEAR(d[0], 0, 1e-12);
  EXPECT_NEAR(d[1], 0, 1e-12);
  EXPECT_NEAR(y[0], -1.19941, 1e-4);  // classical rest point for a = 0.7, b = 0.8
}

TEST(FitzHughNagumo, EulerStepConvergesToTinyStepReferenceAtFirstOrder) {
  const FhnParameters p;
  const double amp = 1.0, T = 5.0;  // in the upstroke/plateau of the excursion
  Rhs f = [&](double t, const std::vector<double>& y) {
    return std::vector<double>{p.c * (y[0] - y[0] * y[0] * y[0] / 3 - y[1]) + p.i_app + pulse(t, amp),
                               (y[0] + p.a - p.b * y[1]) / p.tau};
  };
  FitzHughNagumo m(p);
  const auto ref = rk4(f, m.initial_state(), T, 1e-4);
  ASSERT_GT(ref[0], 1.5) << "the pulse must trigger an action potential";
  double err[3];
  const double dts[3] = {0.02, 0.01, 0.005};
  for (int i = 0; i < 3; ++i) {
    const auto y = integrate(m, T, dts[i], amp);
    err[i] = std::hypot(y[0] - ref[0], y[1] - ref[1]);
  }
  EXPECT_LT(err[2], 2e-3);
  EXPECT_NEAR(err[0] / err[1], 2.0, 0.4);
  EXPECT_NEAR(err[1] / err[2], 2.0, 0.4);
}

TEST(MitchellSchaeffer, StepConvergesToTinyStepReference) {
  const MsParameters p;
  const double amp = 0.2, T = 3.0;  // in the upstroke
  Rhs f = [&](double t, const std::vector<double>& y) {
    const double v = y[0], h = y[1];
    return std::vector<double>{h * v * v * (1 - v) / p.tau_in - v / p.tau_out + pulse(t, amp),
                               v < p.v_gate ? (1 - h) / p.tau_open : -h / p.tau_close};
  };
  MitchellSchaeffer m(p);
  const auto ref = rk4(f, m.initial_state(), T, 1e-5);
  ASSERT_GT(ref[0], 0.3) << "the pulse must trigger the upstroke";
  double err[3];
  const double dts[3] = {0.02, 0.01, 0.005};
  for (int i = 0; i < 3; ++i) {
    const auto y = integrate(m, T, dts[i], amp);
    err[i] = std::hypot(y[0] - ref[0], y[1] - ref[1]);
  }
  EXPECT_LT(err[2], 2e-3);
  EXPECT_NEAR(err[0] / err[1], 2.0, 0.4);
  EXPECT_NEAR(err[1] / err[2], 2.0, 0.4);
  // Later in the action potential (after the gate switches at v_gate) the state stays close.
  const auto late_ref = rk4(f, m.initial_state(), 60.0, 1e-4);
  ASSERT_GT(late_ref[0], 0.8);
  const auto late = integrate(m, 60.0, 0.005, amp);
  EXPECT_NEAR(late[0], late_ref[0], 1e-4);
  EXPECT_NEAR(late[1], late_ref[1], 1e-4);
}

TEST(MitchellSchaeffer, RhsMatchesTheEquations) {
  MitchellSchaeffer m;
  const std::vector<double> y{0.4, 0.3, 0.05, 0.9};  // two cells: (v, h) = (0.4, 0.05), (0.3, 0.9)
  const std::vector<double> stim{0.1, 0.0};
  std::vector<double> d(4);
  m.rhs(y.data(), 2, stim.data(), d.data());
  EXPECT_DOUBLE_EQ(d[0], 0.05 * 0.16 * 0.6 / 0.3 - 0.4 / 6 + 0.1);
  EXPECT_DOUBLE_EQ(d[1], 0.9 * 0.09 * 0.7 / 0.3 - 0.3 / 6);
  EXPECT_DOUBLE_EQ(d[2], -0.05 / 150);
  EXPECT_DOUBLE_EQ(d[3], -0.9 / 150);
}

TEST(TenTusscher2006, StatesAreNamedAndPublishedInitialStates) {
  TenTusscher2006 m;
  EXPECT_EQ(m.num_states(), 19);
  EXPECT_EQ(m.state_index("V"), 0);
  EXPECT_EQ(m.state_index("Cai"), 3);
  EXPECT_EQ(m.state_index("CaSR"), 4);
  EXPECT_EQ(m.state_index("Cass"), 5);
  EXPECT_EQ(m.state_index("Rprime"), 6);
  EXPECT_EQ(m.state_index("fCass"), 16);
  EXPECT_EQ(m.initial_state()[0], -85.23);
  EXPECT_EQ(m.initial_state()[m.state_index("CaSR")], 3.64);
  EXPECT_EQ(TenTusscher2006(Ttp06Parameters::for_variant(Ttp06Variant::kEndo)).initial_state()[0], -86.709);
  try {
    m.state_index("Ca");
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(),
                 "model ttp06-epi has no state \"Ca\" (states: V, Ki, Nai, Cai, CaSR, Cass, Rprime, Xr1, "
                 "Xr2, Xs, m, h, "
                 "j, d, f, f2, fCass, s, r)");
  }
}

TEST(TenTusscher2006, VariantConductances) {
  const auto epi = Ttp06Parameters::for_variant(Ttp06Variant::kEpi);
  const auto endo = Ttp06Parameters::for_variant(Ttp06Variant::kEndo);
  const auto mid = Ttp06Parameters::for_variant(Ttp06Variant::kMid);
  EXPECT_EQ(epi.g_ks, 0.392);
  EXPECT_EQ(endo.g_ks, 0.392);
  EXPECT_EQ(mid.g_ks, 0.098);
  EXPECT_EQ(epi.g_to, 0.294);
  EXPECT_EQ(endo.g_to, 0.073);
  EXPECT_EQ(mid.g_to, 0.294);
}

/// A state in the plateau of an action potential (every current active).
std::vector<double> plateau_state(TenTusscher2006& m) {
  std::vector<double> y = m.initial_state();
  for (int k = 0; k < 5000; ++k) {
    const double stim = k < 100 ? 52.0 : 0.0;
    m.step(y.data(), 1, &stim, 0.01);
  }
  return y;
}

TEST(TenTusscher2006, StepIsConsistentWithRhs) {
  // (step(y, dt) − y)/dt → rhs(y) as dt → 0: checks the Rush–Larsen gates and the rapid-buffer
  // updates of step() against the differential form of rhs().
  Ttp06Parameters p;
  p.lookup_table = false;
  TenTusscher2006 m(p);
  const auto y0 = plateau_state(m);
  ASSERT_GT(y0[0], 0.0) << "should be in the plateau";
  std::vector<double> d(19);
  const double stim = 3.0;
  m.rhs(y0.data(), 1, &stim, d.data());
  const double dt = 1e-6;
  auto y = y0;
  m.step(y.data(), 1, &stim, dt);
  for (int s = 0; s < 19; ++s) {
    const double fd = (y[s] - y0[s]) / dt;
    EXPECT_NEAR(fd, d[s], 1e-4 * std::abs(d[s]) + 1e-12) << m.state_names()[s];
  }
}

TEST(TenTusscher2006, LookupTablesKeepAccuracy) {
  Ttp06Parameters exact_p;
  exact_p.lookup_table = false;
  TenTusscher2006 exact(exact_p), table;
  PacingProtocol protocol;
  protocol.beats = 2;
  protocol.dt = 0.02;
  const auto a = run_single_cell(exact, protocol), b = run_single_cell(table, protocol);
  double max_dv = 0;
  for (std::size_t i = 0; i < a.time.size(); ++i)
    max_dv = std::max(max_dv, std::abs(a.values[i * 19] - b.values[i * 19]));
  EXPECT_LT(max_dv, 0.05);  // mV
  EXPECT_NEAR(a.beats[1].apd90, b.beats[1].apd90, 0.05);
}

TEST(TenTusscher2006, EpicardialActionPotentialAt1HzMatchesPublishedRanges) {
  TenTusscher2006 m;
  PacingProtocol protocol;  // 52 pA/pF for 1 ms, the published stimulus
  protocol.beats = 10;
  protocol.cycle_length = 1000;
  protocol.dt = 0.02;
  const auto trace = run_single_cell(m, protocol);
  EXPECT_NEAR(trace.beats.front().resting, -85.23, 0.05);
  const auto& last = trace.beats.back();
  EXPECT_NEAR(last.resting, -85.2, 0.6);  // ≈ −85.2 mV
  EXPECT_GT(last.peak, 30.0);             // overshoot ≈ +40 mV
  EXPECT_LT(last.peak, 45.0);
  EXPECT_GT(last.dvdt_max, 250.0);  // V/s (published ≈ 300–400 V/s)
  EXPECT_LT(last.dvdt_max, 450.0);
  EXPECT_GT(last.apd90, 290.0);  // published epi APD90 ≈ 300–310 ms at 1 Hz
  EXPECT_LT(last.apd90, 320.0);
  // Endocardial APD is similar; the M cell (small I_Ks) has a much longer action potential.
  TenTusscher2006 endo(Ttp06Parameters::for_variant(Ttp06Variant::kEndo));
  TenTusscher2006 mid(Ttp06Parameters::for_variant(Ttp06Variant::kMid));
  protocol.beats = 3;
  const double apd_endo = run_single_cell(endo, protocol).beats.back().apd90;
  const double apd_mid = run_single_cell(mid, protocol).beats.back().apd90;
  EXPECT_GT(apd_endo, 270.0);
  EXPECT_LT(apd_endo, 320.0);
  EXPECT_GT(apd_mid, last.apd90 + 50.0);
}

TEST(TenTusscher2006, ApdConvergesInTime) {
  double apd[3];
  const double dts[3] = {0.04, 0.02, 0.01};
  for (int i = 0; i < 3; ++i) {
    TenTusscher2006 m;
    PacingProtocol p;
    p.dt = dts[i];
    apd[i] = run_single_cell(m, p).beats[0].apd90;
  }
  EXPECT_LT(std::abs(apd[2] - apd[1]), std::abs(apd[1] - apd[0]));
  EXPECT_LT(std::abs(apd[2] - apd[1]), 1.0);
}

TEST(CellModelFactory, BadNamesAndParameters) {
  try {
    make_cell_model("hh", "", core::Json::object(), "cfg.json");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "cfg.json: unknown cell model \"hh\" (expected one of fhn, ms, ttp06)");
  }
  try {
    make_cell_model("ttp06", "apex", core::Json::object(), "cfg.json");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "unknown ttp06 variant \"apex\" (expected one of epi, endo, mid)");
  }
  try {
    make_cell_model("ms", "", core::Json{{"tau_inn", 0.3}}, "cfg.json");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "cfg.json: key 'cell.parameters.tau_inn': unknown key");
  }
  auto fhn = make_cell_model("fhn", "", core::Json{{"tau", 20.0}});
  EXPECT_EQ(dynamic_cast<FitzHughNagumo&>(*fhn).parameters().tau, 20.0);
}

TEST(ApFeatures, PiecewiseLinearActionPotential) {
  // Rest −80 for 1 ms, upstroke to +20 over 1 ms, plateau, linear repolarisation 220 → 320 ms.
  const double dt = 0.1;
  std::vector<double> v;
  for (int i = 0; i <= 4000; ++i) {
    const double t = i * dt;
    double x = -80;
    if (t >= 1 && t < 2)
      x = -80 + 100 * (t - 1);
    else if (t >= 2 && t < 220)
      x = 20;
    else if (t >= 220 && t < 320)
      x = 20 - (t - 220);
    v.push_back(x);
  }
  const auto f = ap_features(v, dt, 0.0);
  EXPECT_DOUBLE_EQ(f.resting, -80);
  EXPECT_DOUBLE_EQ(f.peak, 20);
  EXPECT_NEAR(f.dvdt_max, 100, 1e-9);
  // 90 % repolarisation at −70 mV, reached at t = 310; APD from the upstroke (first max-slope step).
  EXPECT_GE(f.t_upstroke, 1.0);
  EXPECT_LE(f.t_upstroke, 2.0);
  EXPECT_NEAR(f.apd90, 310 - f.t_upstroke, 1e-6);
  EXPECT_NEAR(f.apd50, 270 - f.t_upstroke, 1e-6);
}

}  // namespace
}  // namespace metaeik::monodomain
