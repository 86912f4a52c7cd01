// Identifiability: traces made by monodomain's Mitchell–Schaeffer model with known τ
// (0.3, 6, 150) plus 5 % Gaussian noise; APHYN-EP starts from τ perturbed by ±30 % and must
// recover each τ within 5 % with ‖F_dl‖ near zero.

#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

#include "core/random.hpp"
#include "monodomain/mitchell_schaeffer.hpp"
#include "surrogates/aphyn/trainer.hpp"
#include "tests/support/cli.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

/// MS action potentials started from v0 (h = 1) at rest, sampled every `interval` ms for `horizon` ms.
std::vector<Trace> ms_traces(const std::vector<double>& v0, double interval, double horizon, double noise,
                             std::uint64_t seed) {
  monodomain::MitchellSchaeffer ms;  // τ_in 0.3, τ_out 6, τ_open 120, τ_close 150
  auto rng = core::make_rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<Trace> out;
  const double dt = 0.005;
  for (double v : v0) {
    Trace tr;
    tr.name = "ms_" + std::to_string(v);
    double y[2] = {v, 1.0};
    const int per_sample = static_cast<int>(std::lround(interval / dt));
    for (int k = 0; k * interval <= horizon + 1e-9; ++k) {
      tr.t.push_back(k * interval);
      tr.v.push_back(y[0] + (k > 0 ? noise * normal(rng) : 0.0));  // σ = 5 % of the [0, 1] range
      for (int s = 0; s < per_sample; ++s) ms.step(y, 1, nullptr, dt);
    }
    out.push_back(std::move(tr));
  }
  return out;
}

TEST(AphynIdentifiability, RecoversTauWithin5PercentFromNoisyMsTraces) {
  std::vector<double> v0;
  for (int k = 0; k < 16; ++k) v0.push_back(0.2 + 0.05 * k);
  const auto train = ms_traces(v0, 1.0, 300, 0.05, 1);
  const auto validation = ms_traces({0.4, 0.8}, 2.0, 300, 0.05, 2);
  ModelOptions m;
  m.tau_in = 0.3 * 1.3;
  m.tau_out = 6 * 0.7;
  m.tau_close = 150 * 1.3;
  if (std::getenv("APHYN_NOFDL")) m.fdl = false;
  if (std::getenv("APHYN_TRUE")) { m.tau_in = 0.3; m.tau_out = 6; m.tau_close = 150; }
  auto env = [](const char* n, double d) { return std::getenv(n) ? std::atof(std::getenv(n)) : d; };
  m.dt = env("APHYN_DT", 0.25);
  TrainOptions t;
  t.epochs = env("APHYN_EPOCHS", 30);
  t.lr_tau = env("APHYN_LR", 0.05);
  t.lr_decay = env("APHYN_DECAY", 0.9);
  if (std::getenv("APHYN_OPT")) t.optimizer = std::getenv("APHYN_OPT");
  t.lbfgs_iterations = env("APHYN_IT", 10);
  t.horizon_start = env("APHYN_H0", 0);
  t.horizon_epochs = env("APHYN_HE", 0);
  t.lr = 1e-3;
  t.gamma = 10;
  t.validate_every = 1;
  t.checkpoint_every = 1;
  test::TempDir dir("aphyn_ident");
  const auto r = fit(m, t, train, validation, dir.path(), false);
  EXPECT_NEAR(r.tau_start.at("tau_close"), 195, 1e-9);
  EXPECT_NEAR(r.tau.at("tau_in"), 0.3, 0.05 * 0.3);
  EXPECT_NEAR(r.tau.at("tau_out"), 6.0, 0.05 * 6.0);
  EXPECT_NEAR(r.tau.at("tau_close"), 150.0, 0.05 * 150.0);
  EXPECT_LT(r.fdl_norm2_train, 1e-4);  // (dv/dt)², against an upstroke rate ~1/ms
  EXPECT_LT(r.mse_validation, 0.05 * 0.05 * 0.3);  // well below the noise variance: the dynamics are learned
}

}  // namespace
}  // namespace metaeik::surrogates::aphyn
