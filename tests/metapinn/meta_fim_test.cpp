// The LibTorch bridge to the FIM solve (metapinn/fim_bridge.hpp) against central finite differences of
// the solve, alone and composed with a differentiable speed model; meta-FIM (metapinn/meta_fim.hpp):
// config reading, a tiny episodic training whose loss falls and whose velocities move towards the truth,
// checkpoints and one-line errors.

#include "metapinn/meta_fim.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "eikonal/fim.hpp"
#include "geometry/structured.hpp"
#include "metapinn/fim_bridge.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace fs = std::filesystem;
using namespace metaeik;
using namespace metaeik::metapinn;

namespace {

using test::error_of;

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

/// Smooth speeds 0.3–0.6 mm/ms without ties.
Eigen::VectorXd smooth_speed(const geometry::TetMesh& m) {
  Eigen::VectorXd v(m.num_points());
  for (int i = 0; i < m.num_points(); ++i)
    v[i] = 0.45 + 0.12 * std::sin(0.4 * m.points(i, 0) + 0.1) +
           0.03 * std::cos(0.7 * m.points(i, 1) + 0.3 * m.points(i, 2));
  return v;
}

eikonal::FimOptions exact() {
  eikonal::FimOptions o;
  o.threads = 1;
  o.tolerance = 0.0;  // the exact discrete fixed point: differences of it are clean
  return o;
}

torch::Tensor tensor_of(const Eigen::VectorXd& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone();
}

Eigen::VectorXd eigen_of(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat64).contiguous();
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.size(0));
}

Eigen::VectorXd weights(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 1.0);
  Eigen::VectorXd w(n);
  for (int i = 0; i < n; ++i) w[i] = u(rng);
  return w;
}

}  // namespace

TEST(FimBridge, GradientMatchesFiniteDifferencesOfTheSolve) {
  const auto mesh = jittered_box(8, 16.0, 7);
  const eikonal::FimSolver solver(mesh, exact());
  const Eigen::VectorXd v0 = smooth_speed(mesh);
  const std::vector<int> nodes{3, mesh.num_points() - 5};
  const Eigen::VectorXd t0 = (Eigen::VectorXd(2) << 0.0, 7.5).finished();
  const Eigen::VectorXd w = weights(mesh.num_points(), 11);

  auto speed = tensor_of(v0).requires_grad_(true);
  auto onset = tensor_of(t0).requires_grad_(true);
  auto T = fim_times(solver, speed, nodes, onset);
  const auto reference = solver.solve({eikonal::SpeedField::Location::kNode, v0, {}, 1.0},
                                      {{nodes[0], t0[0]}, {nodes[1], t0[1]}});
  EXPECT_EQ((eigen_of(T) - reference.times).cwiseAbs().maxCoeff(), 0.0) << "forward differs from the solve";
  (T * tensor_of(w)).sum().backward();
  const Eigen::VectorXd g = eigen_of(speed.grad()), go = eigen_of(onset.grad());

  const auto loss = [&](const Eigen::VectorXd& v, const Eigen::VectorXd& t) {
    return w.dot(
        solver.solve({eikonal::SpeedField::Location::kNode, v, {}, 1.0}, {{nodes[0], t[0]}, {nodes[1], t[1]}})
            .times);
  };
  // The 20 largest components and 10 random ones (skipping those too small to measure).
  std::vector<int> order(g.size());
  for (int i = 0; i < int(order.size()); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return std::abs(g[a]) > std::abs(g[b]); });
  std::vector<int> check(order.begin(), order.begin() + 20);
  std::mt19937 rng(5);
  for (int k = 0; k < 10; ++k) check.push_back(std::uniform_int_distribution<int>(0, int(g.size()) - 1)(rng));
  const double scale = g.cwiseAbs().maxCoeff();
  int checked = 0;
  for (int i : check) {
    if (std::abs(g[i]) < 1e-3 * scale) continue;
    const double h = 1e-6;
    Eigen::VectorXd up = v0, down = v0;
    up[i] += h, down[i] -= h;
    const double fd = (loss(up, t0) - loss(down, t0)) / (2 * h);
    EXPECT_NEAR(fd, g[i], 1e-4 * std::abs(g[i])) << "speed component " << i;
    ++checked;
  }
  EXPECT_GE(checked, 20);
  for (int j = 0; j < 2; ++j) {
    Eigen::VectorXd up = t0, down = t0;
    up[j] += 1e-5, down[j] -= 1e-5;
    const double fd = (loss(v0, up) - loss(v0, down)) / 2e-5;
    EXPECT_GT(std::abs(go[j]), 1.0) << "each source drives part of the mesh";
    EXPECT_NEAR(fd, go[j], 1e-6 * std::abs(go[j])) << "onset " << j;
  }

  // Float speeds: the same solve and gradient, in float.
  auto speed32 = tensor_of(v0).to(torch::kFloat32).requires_grad_(true);
  auto T32 = fim_times(solver, speed32, nodes, tensor_of(t0).to(torch::kFloat32));
  EXPECT_EQ(T32.scalar_type(), torch::kFloat32);
  (T32 * tensor_of(w).to(torch::kFloat32)).sum().backward();
  ASSERT_EQ(speed32.grad().scalar_type(), torch::kFloat32);
  EXPECT_LE((eigen_of(speed32.grad()) - g).cwiseAbs().maxCoeff(), 1e-4 * scale);
}

TEST(FimBridge, ChainRuleThroughASpeedModelMatchesFiniteDifferences) {
  // v(x) = 0.45 + 0.15·tanh(θ·x/10 + θ₃): dL/dθ through the bridge vs differences of the whole pipeline.
  const auto mesh = jittered_box(6, 12.0, 3);
  const eikonal::FimSolver solver(mesh, exact());
  const int n = mesh.num_points();
  auto x = torch::from_blob(const_cast<double*>(mesh.points.data()), {n, 3}, torch::kFloat64)
               .clone();  // row-major
  const Eigen::VectorXd truth_v = smooth_speed(mesh);
  const Eigen::VectorXd y =
      solver.solve({eikonal::SpeedField::Location::kNode, truth_v, {}, 1.0}, {{0, 0.0}}).times;
  const std::vector<int> nodes{0};
  const auto loss_of = [&](const torch::Tensor& theta) {
    auto v = 0.45 + 0.15 * torch::tanh(torch::matmul(x / 10.0, theta.narrow(0, 0, 3)) + theta[3]);
    auto T = fim_times(solver, v, nodes, torch::zeros({1}, torch::kFloat64));
    return (T - tensor_of(y)).pow(2).mean();
  };
  auto theta = torch::tensor({0.3, -0.2, 0.5, 0.1}, torch::kFloat64).requires_grad_(true);
  auto L = loss_of(theta);
  L.backward();
  const Eigen::VectorXd g = eigen_of(theta.grad());
  torch::NoGradGuard guard;
  for (int j = 0; j < 4; ++j) {
    auto up = theta.detach().clone(), down = theta.detach().clone();
    up[j] += 1e-6, down[j] -= 1e-6;
    const double fd = (loss_of(up).item<double>() - loss_of(down).item<double>()) / 2e-6;
    EXPECT_NEAR(fd, g[j], 1e-4 * std::abs(g[j]) + 1e-9) << "theta " << j;
  }
  EXPECT_GT(g.cwiseAbs().maxCoeff(), 1e-3);
}

TEST(FimBridge, BadInputsAreOneLineErrors) {
  const auto mesh = jittered_box(4, 8.0, 1);
  const eikonal::FimSolver solver(mesh);
  auto v = torch::full({mesh.num_points()}, 0.5, torch::kFloat64);
  EXPECT_EQ(error_of([&] {
              fim_times(solver, v, {0, 1}, torch::zeros({1}, torch::kFloat64));
            }),
            "fim_times: need one onset per source node, got 1 onsets for 2 nodes");
  EXPECT_EQ(error_of([&] { fim_times(solver, v, {mesh.num_points()}, torch::zeros({1}, torch::kFloat64)); }),
            "fim_times: source node " + std::to_string(mesh.num_points()) + " is out of range [0, " +
                std::to_string(mesh.num_points()) + ")");
  EXPECT_EQ(error_of([&] {
              fim_times(solver, v.view({1, -1}), {0}, torch::zeros({1}, torch::kFloat64));
            }),
            "fim_times: speed must be a vector [N]");
  const std::string msg =
      error_of([&] { fim_times(solver, v.narrow(0, 0, 10), {0}, torch::zeros({1}, torch::kFloat64)); });
  EXPECT_NE(msg, "(no error)");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

namespace {

/// Two subjects on a 7×7×7-node cube whose slow half (0.3 vs 0.6 mm/ms) lies on opposite sides;
/// 8 maps each (FIM from random nodes): 5 train, 1 val, 2 test. Faces x = 0 and y = 0 are observed.
Corpus fim_corpus() {
  Corpus c;
  const auto mesh = geometry::cube_mesh(6, 12.0);
  CorpusGeometry g;
  g.name = "cube";
  g.points = mesh.points;
  g.tets = mesh.tets;
  g.observed = Eigen::VectorXi::Zero(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i)
    g.observed[i] =
        (mesh.points(i, 0) < 1e-9 || mesh.points(i, 1) < 1e-9 || mesh.points(i, 2) < 1e-9) ? 1 : 0;
  c.geometries.push_back(g);
  const eikonal::FimSolver solver(mesh);
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> node(0, mesh.num_points() - 1);
  for (int s = 0; s < 2; ++s) {
    CorpusSubject subject;
    subject.name = "slow " + std::string(s ? "right" : "left");
    subject.speed.resize(mesh.num_points());
    for (int i = 0; i < mesh.num_points(); ++i)
      subject.speed[i] = ((mesh.points(i, 0) < 6.0) == (s == 0)) ? 0.3 : 0.6;
    c.subjects.push_back(subject);
    for (int m = 0; m < 8; ++m) {
      CorpusMap map;
      map.subject = s;
      map.id = int(c.maps.size());
      map.split = m < 5 ? "train" : m < 6 ? "val" : "test";
      map.truth =
          solver.solve({eikonal::SpeedField::Location::kNode, subject.speed, {}, 1.0}, {{node(rng), 0.0}})
              .times;
      map.observation = map.truth;
      c.maps.push_back(map);
    }
  }
  return c;
}

MetaFimConfig tiny_fim_config() {
  auto json = core::Json::parse(R"({
    "model": {"encoder_channels": [4, 8, 8, 16], "hyper_hidden": [32, 32], "velocity_width": 8,
              "velocity_layers": 3, "velocity_activation": "elu", "v_min": 0.1, "v_max": 0.8},
    "data": {"levels": 4},
    "train": {"epochs": 30, "k": 3, "queries": 2, "lr": 1e-2, "warmup_epochs": 1, "supervision": "observed",
              "val_every": 10, "seed": 3, "threads": 1},
    "fim": {"prior": "laplacian", "prior_weight": 0.01}
  })");
  return read_meta_fim_config(json, "tiny_fim.json");
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("meta_fim_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

double mean_velocity_error(LoadedMetaFim& model, const Corpus& corpus) {
  EvaluateOptions eo;
  eo.k = 3;
  eo.seed = 1;
  auto rows = evaluate_meta_fim(model, corpus, eo, false);
  EXPECT_EQ(rows.size(), 4u);
  double sum = 0;
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.metrics.at_corr));
    EXPECT_TRUE(std::isnan(r.metrics.residual));  // T is a solve: no PINN residual
    sum += r.metrics.v_rel_error;
  }
  return sum / double(rows.size());
}

}  // namespace

TEST(MetaFim, ConfigReadsTheFimSectionAndRefusesUnknownKeys) {
  const auto c = tiny_fim_config();
  EXPECT_EQ(c.fim.prior, "laplacian");
  EXPECT_EQ(c.train.k, 3);
  EXPECT_EQ(to_json(read_meta_fim_config(to_json(c), "again")), to_json(c));
  EXPECT_TRUE(is_meta_fim_config(to_json(c)));
  EXPECT_FALSE(is_meta_fim_config(core::Json::parse(R"({"model": {}})")));
  EXPECT_EQ(error_of([] { read_meta_fim_config(core::Json::parse(R"({"fim": {"solver": 1}})"), "f.json"); }),
            "f.json: key 'fim.solver': unknown key");
  EXPECT_EQ(
      error_of([] { read_meta_fim_config(core::Json::parse(R"({"fim": {"prior": "tv"}})"), "f.json"); }),
      "f.json: key 'fim.prior': unknown value \"tv\" (expected one of \"none\", \"laplacian\")");
  EXPECT_EQ(error_of([] {
              read_meta_fim_config(core::Json::parse(R"({"fim": {}, "train": {"lr": -1}})"), "f.json");
            }),
            "f.json: key 'train.lr': value -1 is out of range [0, 10]");
}

TEST(MetaFim, TinyTrainingReducesItsLossAndMovesTheVelocityTowardsTheTruth) {
  TempDir tmp;
  const Corpus corpus = fim_corpus();
  const fs::path run = tmp.path / "run";
  MetaFimConfig cfg = tiny_fim_config();

  // The untrained model (the same seeded initialisation as training's).
  LoadedMetaFim fresh;
  fresh.config = cfg;
  fresh.config.data.feature_time = max_training_time(corpus, cfg.data);
  torch::manual_seed(cfg.train.seed);
  fresh.model = MetaFim(cfg.model, cfg.data.speed_scale);
  fresh.model->eval();
  const double before = mean_velocity_error(fresh, corpus);

  train_meta_fim(cfg, corpus, run, false);
  for (const char* f : {"config.json", "last.pt", "best.pt", "log.csv"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  const auto log = read_csv(run / "log.csv");
  ASSERT_EQ(log.size(), 31u);  // header + 30 epochs
  EXPECT_EQ(log[0][2], "data_loss");
  // Two episodes per epoch make the epoch loss noisy: compare the first and last three epochs.
  const double first = std::stod(log[1][2]) + std::stod(log[2][2]) + std::stod(log[3][2]);
  const double last = std::stod(log[28][2]) + std::stod(log[29][2]) + std::stod(log[30][2]);
  EXPECT_LT(last, 0.5 * first) << "data loss did not fall: " << first / 3 << " → " << last / 3;
  EXPECT_FALSE(log[10][7].empty()) << "validation columns missing at epoch 10";

  auto model = load_meta_fim(run, "cpu", "last");
  EXPECT_EQ(model.epoch, 30);
  const double after = mean_velocity_error(model, corpus);
  EXPECT_LT(after, 0.8 * before) << "velocity relative error " << before << " → " << after;

  // Personalisation: finite times on every node, speeds within the model's bounds.
  const auto& g = corpus.geometries[0];
  const auto fg = prepare_fim_geometry(g, model.config, torch::kCPU);
  const auto context =
      meta_fim_context_pass(model, fg, {corpus.maps[0].observation, corpus.maps[1].observation}, g.observed);
  const auto p = personalize_meta_fim(model, fg, context, corpus.maps[6].observation, g.observed);
  ASSERT_EQ(p.times.size(), g.points.rows());
  EXPECT_TRUE(p.times.allFinite());
  EXPECT_GE(p.speed.minCoeff(), 0.1 - 1e-6);
  EXPECT_LE(p.speed.maxCoeff(), 0.8 + 1e-6);
  EXPECT_GT(p.forward_seconds, 0.0);

  // Resume extends the run; another architecture's checkpoint is refused with one line.
  cfg.train.epochs = 31;
  train_meta_fim(cfg, corpus, run, true);
  EXPECT_EQ(read_csv(run / "log.csv").size(), 32u);
  auto other = to_json(model.config);
  other["model"]["velocity_width"] = 7;
  core::save_json_file(run / "config.json", other);
  const std::string msg = error_of([&] { load_meta_fim(run); });
  EXPECT_NE(msg.find("checkpoint architecture 'metafim-v1 encoder=4-8-8-16"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_EQ(error_of([&] { train_meta_fim(cfg, corpus, run, false); }),
            "'" + run.string() + "' already holds a training run; use --resume or another directory");
}

// The experiment with meta-FIM alone: trained per seed, one row per test map, k and seed, and its line
// in the summary's comparison and k-ablation.
TEST(MetaFimExperiment, TinyExperimentTrainsAndReportsMetaFim) {
  test::TempDir tmp("experiment_meta_fim");
  auto config = core::load_json_file(test::source_dir() / "configs" / "experiment" / "tiny.json");
  config["methods"] = {"meta_fim"};
  config.erase("meta_pinn");
  config.erase("meta_neural");
  config["meta_fim"] = core::Json::parse(R"({"train": {
      "model": {"encoder_channels": [4, 8, 8, 16], "hyper_hidden": [32, 32], "velocity_width": 8, "velocity_layers": 3},
      "data": {"levels": 4},
      "train": {"epochs": 2, "k": 3, "queries": 1, "lr": 3e-3, "warmup_epochs": 1, "val_every": 2, "val_queries": 1,
                "supervision": "observed", "seed": 3, "threads": 1},
      "fim": {"source_candidates": 3, "source_search_steps": 1}}})");
  {
    std::ofstream f(tmp / "meta_fim.json");
    f << config.dump();
  }
  const fs::path out = tmp / "out";
  const auto r = test::run_cli("experiment -c " + (tmp / "meta_fim.json").string() + " -o " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream csv(out / "results.csv");
  std::string line;
  std::getline(csv, line);
  int rows = 0;
  while (std::getline(csv, line)) {
    EXPECT_EQ(line.rfind("meta_fim,", 0), 0u) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 2 * 2 * 2);  // 2 test maps × k ∈ {1, 3} × 2 seeds
  for (const char* seed : {"seed_3", "seed_4"})
    EXPECT_TRUE(fs::exists(out / "models" / "meta_fim" / seed / "best.pt"));
  std::ifstream in(out / "summary.md");
  const std::string summary((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(summary.find("| meta-FIM | 4 | "), std::string::npos) << summary;  // k = 3: 2 maps × 2 seeds
  EXPECT_NE(summary.find("| meta-FIM | 1 | "), std::string::npos) << summary;  // the k-ablation
  EXPECT_NE(summary.find("meta-FIM: the meta-learner's velocity encoder"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "stages" / "meta_fim.json"));
}
