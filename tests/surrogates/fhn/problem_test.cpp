// Problems A/B/C: Latin-hypercube starts, Euler data against a much finer integration, dataset
// layout, Euler timing errors, and config errors.

#include "surrogates/fhn/problem.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "surrogates/fhn/train.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::surrogates::fhn {
namespace {

using test::error_of;

ProblemOptions problem(const std::string& id) {
  ProblemOptions p;
  p.problem = id;
  return resolve(p);
}

TEST(FhnProblem, DefaultsOfTheThreeProblems) {
  EXPECT_EQ(problem("a").horizon, 25.0);
  EXPECT_EQ(problem("a").current, 0.0);
  EXPECT_EQ(problem("b").current, 0.08);
  EXPECT_EQ(problem("c").horizon, 20.0);
  EXPECT_EQ(input_count(problem("a")), 1);
  EXPECT_EQ(input_count(problem("c")), 4);
  // C: the cubic model's current sits inside c·[...], so I = 0.08 + 0.04 k is a stimulus of 10·0.04·k.
  EXPECT_DOUBLE_EQ(stim_per_k(problem("c")), 0.4);
  ProblemOptions classic = problem("c");
  classic.model = "fhn-classic";
  EXPECT_DOUBLE_EQ(stim_per_k(classic), 0.04);
}

TEST(FhnProblem, LatinHypercubeHasOnePointPerStratumInEveryDimension) {
  const int n = 50, d = 3;
  const auto x = latin_hypercube(n, d, 3);
  for (int j = 0; j < d; ++j) {
    std::set<int> strata;
    for (int i = 0; i < n; ++i) {
      const double v = x[i * d + j];
      ASSERT_GE(v, 0.0);
      ASSERT_LT(v, 1.0);
      strata.insert(static_cast<int>(v * n));
    }
    EXPECT_EQ(strata.size(), std::size_t(n)) << "dimension " << j;
  }
  EXPECT_EQ(latin_hypercube(n, d, 3), x);
  EXPECT_NE(latin_hypercube(n, d, 4), x);
}

/// max |Euler(dt) − Euler(1e-4)| over a few problem-B trajectories at the stored times.
double euler_error(double dt) {
  const ProblemOptions p = problem("b");
  const std::vector<double> u0{-0.1, 0.3, 0.5, 0.81}, w0{0.0, 0.05, 0.12, 0.02};
  const auto coarse = solve_trajectories(p, u0, w0, {}, dt, 0.1, 25.0);
  const auto fine = solve_trajectories(p, u0, w0, {}, 1e-4, 0.1, 25.0);
  double err = 0;
  for (std::size_t i = 0; i < coarse.y.size(); ++i) err = std::max(err, std::abs(coarse.y[i] - fine.y[i]));
  return err;
}

TEST(FhnProblem, EulerDataAgreeWithAMuchFinerIntegrationToFirstOrder) {
  const double e1 = euler_error(0.01), e2 = euler_error(0.005);
  EXPECT_LT(e1, 2e-2);
  EXPECT_GT(e1, 1e-5);              // not trivially identical
  EXPECT_NEAR(e1 / e2, 2.0, 0.35);  // forward Euler is first order
}

TEST(FhnProblem, DatasetLayout) {
  DataOptions o;
  o.trajectories = 12, o.train = 7, o.validation = 4;
  const Dataset b = make_dataset(problem("b"), o);
  EXPECT_EQ(b.train.count, 7);
  EXPECT_EQ(b.validation.count, 4);
  EXPECT_EQ(b.train.points, 251);
  EXPECT_EQ(b.train_samples.rows(), 7u * 251);
  EXPECT_EQ(b.train_samples.inputs, 3);
  // First sample of each trajectory: t = 0 and the state equals the start.
  for (int j = 0; j < 7; ++j) {
    const std::size_t r = std::size_t(j) * 251;
    EXPECT_EQ(b.train_samples.x[r * 3], 0.0f);
    EXPECT_FLOAT_EQ(b.train_samples.y[r * 2], b.train_samples.x[r * 3 + 1]);
    EXPECT_FLOAT_EQ(b.train_samples.y[r * 2 + 1], b.train_samples.x[r * 3 + 2]);
    EXPECT_GE(b.train.u0[j], -0.1);
    EXPECT_LE(b.train.u0[j], 0.81);
  }
  DataOptions a;
  a.points = 10, a.store_dt = 0.01;
  const Dataset da = make_dataset(problem("a"), a);
  EXPECT_EQ(da.train_samples.rows(), 10u);
  EXPECT_EQ(da.validation_samples.rows(), 2501u);
  EXPECT_FLOAT_EQ(da.train_samples.x.back(), 25.0f);
  EXPECT_EQ(error_of([&] {
              DataOptions bad = o;
              bad.train = 10;
              make_dataset(problem("b"), bad);
            }),
            "data: need train > 0, validation > 0 and train + validation <= trajectories, got 10 + 4 of 12");
}

TEST(FhnProblem, EulerTimingErrorShrinksWithTheStep) {
  const auto t = time_euler(problem("b"), 64, 50.0, {0.2, 0.1, 0.05}, 0.01, 1, 1);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_GT(t[0].mae, t[1].mae);
  EXPECT_GT(t[1].mae, t[2].mae);
  EXPECT_EQ(t[3].dt, 0.01);
  EXPECT_EQ(t[3].mae, 0.0);
}

core::Json base() {
  return {{"problem", {{"problem", "a"}}},
          {"data", {{"points", 10}, {"store_dt", 0.01}}},
          {"train", {{"iterations", 10}}},
          {"kind", "ddnn"},
          {"architecture", "Tanh16-Tanh16"}};
}

std::string config_error(core::Json j) {
  return error_of([&] { read_fhn_config(j, "cfg.json", "."); });
}

TEST(FhnConfig, ReadsAndRejectsBadKeysNamingThem) {
  const FhnConfig c = read_fhn_config(base(), "cfg.json", ".");
  EXPECT_EQ(c.problem.problem, "a");
  EXPECT_EQ(c.problem.horizon, 25.0);
  EXPECT_EQ(c.train.iterations, 10);
  auto j = base();
  j["train"]["iterationz"] = 3;
  EXPECT_EQ(config_error(j), "cfg.json: key 'train.iterationz': unknown key");
  j = base();
  j["kind"] = "gan";
  EXPECT_EQ(config_error(j),
            "cfg.json: key 'kind': unknown value \"gan\" (expected one of \"ddnn\", \"pinn\", \"itnn\")");
  j = base();
  j["architecture"] = "Tanh16-Swish8";
  EXPECT_EQ(
      config_error(j),
      "cfg.json: key 'architecture': architecture \"Tanh16-Swish8\": layer 2 \"Swish8\": unknown activation "
      "\"Swish\" (expected one of ReLU, Tanh, Sigmoid, LeakyReLU, ELU, SiLU)");
  j = base();
  j["problem"]["model"] = "hh";
  EXPECT_EQ(
      config_error(j),
      "cfg.json: key 'problem.model': unknown value \"hh\" (expected one of \"fhn-cubic\", \"fhn-classic\")");
  j = base();
  j["problem"]["parameters"] = {{"tau", 3.0}};
  EXPECT_EQ(config_error(j), "cfg.json: key 'problem.parameters.tau': unknown key");
  j = base();
  j["train"]["lr"] = -1;
  EXPECT_EQ(config_error(j), "cfg.json: key 'train.lr': value -1 is out of range [1e-12, 10]");
  j = base();
  j["config"] = "missing.json";
  EXPECT_EQ(config_error(j), "cfg.json: key 'config': no such file ./missing.json");
}

TEST(FhnConfig, ShippedConfigsLoadWithThePublishedSizes) {
  const auto dir = test::source_dir() / "configs" / "fhn";
  const FhnConfig a = load_fhn_config(dir / "problem_a.json");
  EXPECT_EQ(a.problem.problem, "a");
  EXPECT_EQ(a.train.data_weight, 100);
  EXPECT_EQ(a.train.physics_weight, 2);
  const FhnConfig b = load_fhn_config(dir / "problem_b.json");
  EXPECT_EQ(b.data.trajectories, 10000);
  EXPECT_EQ(b.data.train, 5000);
  const FhnConfig c = load_fhn_config(dir / "problem_c.json");
  EXPECT_EQ(c.data.train, 95000);
  EXPECT_EQ(c.data.validation, 1000);
  EXPECT_EQ(c.train.data_weight, 10);
  EXPECT_EQ(c.architecture, "SiLU64-Sigmoid64-Sigmoid64");
}

}  // namespace
}  // namespace metaeik::surrogates::fhn
