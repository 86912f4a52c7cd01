// Identifiability: traces made by monodomain's Mitchell–Schaeffer model with known τ
// (0.3, 6, 150) plus 5 % Gaussian noise; APHYN-EP starts from τ perturbed by ±30 % and must
// recover each τ within 5 % with ‖F_dl‖ near zero.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

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
  ModelOptions m;  // start: τ_in +30 %, τ_out −30 %, τ_close +30 %
  m.tau_in = 0.3 * 1.3;
  m.tau_out = 6 * 0.7;
  m.tau_close = 150 * 1.3;
  m.dt = 0.25;
  TrainOptions t;  // L-BFGS on τ + Adam on F_dl; the horizon grows 50 → 175 → 300 ms over the 3 epochs
  t.optimizer = "lbfgs";
  t.lbfgs_iterations = 8;
  t.epochs = 3;
  t.lr_tau = 1;
  t.lr = 1e-3;
  t.gamma = 10;
  t.horizon_start = 50;
  t.horizon_epochs = 2;
  t.validate_every = 0;
  t.checkpoint_every = 1;
  test::TempDir dir("aphyn_ident");
  const auto r = fit(m, t, train, validation, dir.path(), false);
  EXPECT_NEAR(r.tau_start.at("tau_close"), 195, 1e-9);
  EXPECT_NEAR(r.tau.at("tau_in"), 0.3, 0.05 * 0.3);
  EXPECT_NEAR(r.tau.at("tau_out"), 6.0, 0.05 * 6.0);
  EXPECT_NEAR(r.tau.at("tau_close"), 150.0, 0.05 * 150.0);
  EXPECT_LT(r.fdl_norm2_train, 1e-4);  // (dv/dt)², against an upstroke rate ~1/ms
  // Forecast error on new traces at the noise floor (σ² = 0.0025): the dynamics are learned.
  EXPECT_LT(r.mse_validation, 1.1 * 0.05 * 0.05);
}

TEST(AphynTrainer, ResumeContinuesFromTheCheckpointLikeAStraightRun) {
  const auto traces = ms_traces({0.5, 0.8}, 1.0, 20, 0.02, 3);
  ModelOptions m;
  m.tau_in = 0.35;
  m.dt = 0.5;
  TrainOptions t;
  t.epochs = 4;
  t.lr_tau = 0.05;
  t.lr = 0.01;
  t.validate_every = 2;
  test::TempDir straight("aphyn_straight"), resumed("aphyn_resumed");
  const auto a = fit(m, t, traces, traces, straight.path(), false);
  t.epochs = 2;
  fit(m, t, traces, traces, resumed.path(), false);
  t.epochs = 4;
  const auto b = fit(m, t, traces, traces, resumed.path(), true);
  EXPECT_EQ(b.epochs, 2);
  for (const auto& [name, value] : a.tau) EXPECT_NEAR(b.tau.at(name), value, 1e-9 * value) << name;
  EXPECT_NEAR(b.mse_validation, a.mse_validation, 1e-12);
  // log.csv: a header and one row per epoch, the resumed run's rows continue 1, 2 with 3, 4.
  std::ifstream log(resumed / "log.csv");
  std::string line;
  std::vector<std::string> first;
  while (std::getline(log, line)) first.push_back(line.substr(0, line.find(',')));
  EXPECT_EQ(first, (std::vector<std::string>{"epoch", "1", "2", "3", "4"}));
  EXPECT_TRUE(std::filesystem::exists(resumed / "last.pt"));
  EXPECT_TRUE(std::filesystem::exists(resumed / "model.json"));
}

}  // namespace
}  // namespace metaeik::surrogates::aphyn
