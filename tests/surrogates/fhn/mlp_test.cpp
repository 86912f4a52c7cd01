// The surrogate MLP, its losses (PINN time derivative against finite differences, torch RHS
// against the cell model), training, checkpoints/resume and ITNN rollouts.

#include "surrogates/fhn/mlp.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "surrogates/fhn/evaluate.hpp"
#include "tests/support/cli.hpp"

namespace metaeik::surrogates::fhn {
namespace {

FhnMlp make_net(const std::string& arch, int inputs) {
  torch::manual_seed(0);
  std::vector<double> lo(inputs, 0.0), hi(inputs, 1.0);
  hi[0] = 25.0;
  return FhnMlp(Architecture::parse(arch), lo, hi, std::vector<double>{1.0, 1.0});
}

TEST(FhnMlp, ShapesAndParameterCount) {
  for (const std::string arch :
       {"SiLU64-Sigmoid64-Sigmoid64", "ReLU16-ELU32", "LeakyReLU128-Tanh16-SiLU32"}) {
    FhnMlp net = make_net(arch, 3);
    long n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    EXPECT_EQ(n, Architecture::parse(arch).parameters(3)) << arch;
    const torch::Tensor y = net->forward(torch::rand({5, 3}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 2}));
    EXPECT_LE(y.abs().max().item<double>(), 1.0);  // final Tanh
  }
}

TEST(FhnMlp, AutogradTimeDerivativeMatchesFiniteDifferencesOfTheNetwork) {
  torch::Tensor x = torch::rand({16, 3}, torch::kFloat64);
  x.select(1, 0).mul_(25.0);
  FhnMlp net = make_net("SiLU32-Sigmoid32-Tanh32", 3);
  net->to(torch::kFloat64);
  auto [y, dy] = time_derivative(net, x);
  const double h = 1e-5;
  torch::Tensor xp = x.clone(), xm = x.clone();
  xp.select(1, 0).add_(h), xm.select(1, 0).sub_(h);
  torch::NoGradGuard g;
  const torch::Tensor fd = (net->forward(xp) - net->forward(xm)) / (2 * h);
  EXPECT_LT((dy - fd).abs().max().item<double>(), 1e-7 * (1 + fd.abs().max().item<double>()));
  EXPECT_GT(fd.abs().max().item<double>(), 1e-4);  // a non-trivial derivative
}

TEST(FhnMlp, TorchRightHandSideEqualsTheCellModel) {
  for (const std::string model : {"fhn-cubic", "fhn-classic"}) {
    ProblemOptions p;
    p.problem = "c", p.model = model;
    p = resolve(p);
    auto cell = make_model(p);
    const double s = stim_per_k(p);
    const std::vector<double> u{-0.1, 0.3, 0.9}, w{0.0, 0.05, 0.1}, k{0.0, 0.5, 1.0};
    std::vector<double> y(6), stim(3), f(6);
    for (int i = 0; i < 3; ++i) y[i] = u[i], y[3 + i] = w[i], stim[i] = s * k[i];
    cell->rhs(y.data(), 3, stim.data(), f.data());
    auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
    auto [fu, fw] = rhs(rhs_coefficients(p), s, t(u), t(w), t(k));
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(fu[i].item<double>(), f[i], 1e-12) << model;
      EXPECT_NEAR(fw[i].item<double>(), f[3 + i], 1e-12) << model;
    }
  }
}

TEST(FhnMlp, NormLossIsTheMeanEuclideanNorm) {
  const torch::Tensor pred = torch::tensor({{3.0f, 4.0f}, {0.0f, 1.0f}});
  const torch::Tensor zero = torch::zeros({2, 2});
  EXPECT_NEAR(norm_loss(pred, zero).item<double>(), (5.0 + 1.0) / 2, 1e-6);
}

FhnConfig tiny(const std::string& kind) {
  FhnConfig c;
  c.problem.problem = "a";
  c.problem = resolve(c.problem);
  c.data.points = 40, c.data.store_dt = 0.1;
  c.train.iterations = 60, c.train.collocation = 64, c.train.bench_samples = 20, c.train.log_every = 10;
  c.train.data_weight = 100, c.train.physics_weight = 2, c.train.start_weight = 1;
  c.kind = kind;
  c.architecture = "Tanh16-Tanh16";
  return c;
}

TEST(FhnTrain, EveryKindLowersItsLossAndReportsMetrics) {
  for (const std::string kind : {"ddnn", "pinn", "itnn"}) {
    FhnConfig c = tiny(kind);
    const Dataset d = make_dataset(c.problem, c.data);
    c.train.iterations = 1;
    const TrainResult r1 = train_surrogate(c, d, {{}, false, false});
    c.train.iterations = 150;
    const TrainResult r = train_surrogate(c, d, {{}, false, false});
    EXPECT_LT(r.final_loss, r1.final_loss) << kind;
    EXPECT_TRUE(std::isfinite(r.val_mae)) << kind;
    EXPECT_GE(r.val_max_error, r.val_mae) << kind;
    EXPECT_GT(r.inference_seconds, 0.0) << kind;
    if (kind == "itnn") EXPECT_EQ(r.rollout.rollouts, 1);
  }
}

TEST(FhnTrain, ResumeContinuesExactlyWhereTheCheckpointStopped) {
  test::TempDir tmp("fhn_resume");
  FhnConfig c = tiny("ddnn");
  const Dataset d = make_dataset(c.problem, c.data);
  c.train.iterations = 80;
  const TrainResult straight = train_surrogate(c, d, {tmp / "straight", false, false});
  c.train.iterations = 40;
  train_surrogate(c, d, {tmp / "split", false, false});
  c.train.iterations = 80;
  const TrainResult resumed = train_surrogate(c, d, {tmp / "split", true, false});
  EXPECT_EQ(resumed.iterations, 80);
  EXPECT_NEAR(resumed.final_loss, straight.final_loss, 1e-6 * std::abs(straight.final_loss));
  EXPECT_NEAR(resumed.val_mae, straight.val_mae, 1e-6);
  // log.csv: one row per 10 steps, none repeated.
  std::ifstream in(tmp / "split" / "log.csv");
  std::string line;
  int rows = 0;
  for (std::getline(in, line); std::getline(in, line);) ++rows;
  EXPECT_EQ(rows, 8);
  c.train.lr = 0.01;
  try {
    train_surrogate(c, d, {tmp / "split", true, false});
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_EQ(std::string(e.what()), (tmp / "split").string() +
                                         ": config differs from the run's config.json (only "
                                         "train.iterations may change on --resume)");
  }
}

TEST(FhnTrain, ItnnRolloutFeedsItsOwnPredictions) {
  FhnConfig c = tiny("itnn");
  FhnMlp net = make_net("Tanh8", 2);
  const torch::Tensor u0 = torch::tensor({0.5f}), w0 = torch::tensor({0.0f});
  const torch::Tensor roll = predict(net, "itnn", c.problem, u0, w0, torch::Tensor(), 3, 1.0);
  torch::NoGradGuard g;
  const torch::Tensor s1 = net->forward(torch::stack({u0, w0}, 1));
  const torch::Tensor s2 = net->forward(s1), s3 = net->forward(s2);
  EXPECT_TRUE(torch::allclose(roll.select(1, 2), s3));
  EXPECT_TRUE(torch::allclose(roll.select(1, 0), s1));
}

}  // namespace
}  // namespace metaeik::surrogates::fhn
