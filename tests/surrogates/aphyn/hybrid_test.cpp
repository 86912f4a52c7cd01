#include "surrogates/aphyn/hybrid.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/random.hpp"
#include "monodomain/mitchell_schaeffer.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

ModelOptions options(double tau_in, double tau_out, double tau_close, bool fdl) {
  ModelOptions o;
  o.tau_in = tau_in;
  o.tau_out = tau_out;
  o.tau_close = tau_close;
  o.fdl = fdl;
  return o;
}

TEST(AphynHybrid, MsRhsEqualsMonodomainForTheSameTau) {
  monodomain::MsParameters p;
  p.tau_in = 0.41;
  p.tau_out = 5.3;
  p.tau_open = 120;
  p.tau_close = 171;
  const monodomain::MitchellSchaeffer ms(p);
  const std::size_t n = 64;
  std::vector<double> y(2 * n), dydt(2 * n);
  auto rng = core::make_rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& x : y) x = u(rng);
  ms.rhs(y.data(), n, nullptr, dydt.data());

  HybridModel model(options(p.tau_in, p.tau_out, p.tau_close, false));
  auto v = torch::from_blob(y.data(), {static_cast<long>(n)}, torch::kDouble).clone();
  auto h = torch::from_blob(y.data() + n, {static_cast<long>(n)}, torch::kDouble).clone();
  const auto r = model->rhs(v, h, 10.0);
  EXPECT_FALSE(r[1].defined());  // physics only: no F_dl
  int below = 0;
  for (std::size_t c = 0; c < n; ++c) {
    EXPECT_NEAR(r[0][c].item<double>(), dydt[c], 1e-12 * (1 + std::abs(dydt[c])));
    EXPECT_NEAR(r[2][c].item<double>(), dydt[n + c], 1e-12);
    below += y[c] < p.v_gate;
  }
  EXPECT_GT(below, 0);  // both gate branches are exercised
  EXPECT_LT(below, static_cast<int>(n));
  EXPECT_NEAR(model->tau_value("tau_close"), 171, 1e-12);
  EXPECT_EQ(model->tau_parameters().size(), 3u);
}

TEST(AphynHybrid, FdlStartsNearZeroAndHasTheResNetShape) {
  torch::manual_seed(0);
  HybridModel model(options(0.3, 6, 150, true));
  ASSERT_TRUE(model->has_fdl());
  // input 2→8 (16 + 8), 3 blocks × 2 × (64 + 8), output 8→1 (8 + 1).
  std::int64_t count = 0;
  for (const auto& p : model->fdl_parameters()) count += p.numel();
  EXPECT_EQ(count, 24 + 3 * 2 * 72 + 9);
  auto v = torch::linspace(0, 1, 50, torch::kDouble), h = torch::linspace(1, 0, 50, torch::kDouble);
  const auto r = model->rhs(v, h, 0);
  EXPECT_LT(r[1].abs().max().item<double>(), 1e-2);
  EXPECT_GT(r[1].abs().max().item<double>(), 0.0);
}

TEST(AphynHybrid, UnrolledEulerGradientMatchesFiniteDifferencesForEachTau) {
  Trace tr;
  for (int k = 0; k <= 60; ++k) {
    tr.t.push_back(5.0 * k);
    tr.v.push_back(k == 0 ? 0.6 : std::max(0.0, 1.0 - k / 50.0));
  }
  Trace tr2 = tr;
  tr2.v[0] = 0.4;
  ModelOptions o = options(0.35, 5.0, 130, true);
  o.dt = 0.25;
  torch::manual_seed(1);
  HybridModel model(o);
  const auto batch = make_batch({tr, tr2}, o.dt);
  EXPECT_EQ(batch.n_steps, 1200);
  auto loss = hybrid_loss(forecast(model, batch), 2.0);
  loss.backward();
  const auto params = model->named_parameters();
  for (const std::string name : {"log_tau_in", "log_tau_out", "log_tau_close"}) {
    auto p = params[name];
    const double g = p.grad().item<double>();
    const double eps = 1e-6;
    // Central difference of the full loss (λ·L_traj + ‖F_dl‖; ‖F_dl‖ depends on τ through the trajectory).
    double lf[2];
    for (int s = 0; s < 2; ++s) {
      torch::NoGradGuard ng;
      const double x = p.item<double>();
      p.fill_(x + (s ? -eps : eps));
      const auto f = forecast(model, batch);
      lf[s] = 2.0 * f.l_traj.item<double>() + std::sqrt(f.fdl_norm2.item<double>() + 1e-12);
      p.fill_(x);
    }
    const double fd = (lf[0] - lf[1]) / (2 * eps);
    EXPECT_NEAR(g, fd, 1e-5 * (1 + std::abs(fd))) << name;
    EXPECT_GT(std::abs(g), 1e-6) << name;
  }
}

TEST(AphynHybrid, LossAndLambdaRule) {
  Trace tr;
  tr.t = {0, 1, 2};
  tr.v = {0.5, 0.9, 0.7};
  torch::manual_seed(0);
  HybridModel hybrid(options(0.3, 6, 150, true)), physics(options(0.3, 6, 150, false));
  const auto batch = make_batch({tr}, 0.1);
  EXPECT_EQ(batch.mask[0][0].item<double>(), 0.0);  // the initial measurement is not a forecast error
  const auto fh = forecast(hybrid, batch), fp = forecast(physics, batch);
  EXPECT_NEAR(hybrid_loss(fh, 3.0).item<double>(),
              3.0 * fh.l_traj.item<double>() + std::sqrt(fh.fdl_norm2.item<double>() + 1e-12), 1e-12);
  EXPECT_DOUBLE_EQ(fp.fdl_norm2.item<double>(), 0.0);
  EXPECT_NEAR(hybrid_loss(fp, 3.0).item<double>(), 3.0 * fp.l_traj.item<double>(), 1e-15);
  // L_traj is the mean of the squared errors at t = 1 and 2 ms.
  const double e1 = fp.v[0][1].item<double>() - 0.9, e2 = fp.v[0][2].item<double>() - 0.7;
  EXPECT_NEAR(fp.l_traj.item<double>(), 0.5 * (e1 * e1 + e2 * e2), 1e-14);
  EXPECT_DOUBLE_EQ(next_lambda(1.0, 10.0, 0.02), 1.2);
  EXPECT_DOUBLE_EQ(next_lambda(next_lambda(1.0, 10.0, 0.02), 1.0, 0.5), 1.7);
}

}  // namespace
}  // namespace metaeik::surrogates::aphyn
