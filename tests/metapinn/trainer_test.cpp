// Tiny end-to-end meta-training on an analytic corpus (point sources in homogeneous cubes,
// T = |x − x0|/v), checkpoints, resume, personalisation and the one-line errors.

#include "metapinn/trainer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "geometry/structured.hpp"
#include "metapinn/personalize.hpp"
#include "tests/support/errors.hpp"

namespace fs = std::filesystem;
using namespace metaeik;
using namespace metaeik::metapinn;

namespace {

using test::error_of;

Corpus analytic_corpus() {
  Corpus c;
  auto mesh = geometry::cube_mesh(5, 10.0);  // 216 nodes
  CorpusGeometry g;
  g.name = "cube";
  g.points = mesh.points;
  g.tets = mesh.tets;
  g.observed = Eigen::VectorXi::Zero(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i)  // the faces x = 0 and y = 0 are "endocardium"
    g.observed[i] = (mesh.points(i, 0) < 1e-9 || mesh.points(i, 1) < 1e-9) ? 1 : 0;
  c.geometries.push_back(g);
  auto rng = core::make_rng(11);
  std::uniform_real_distribution<double> u(0.0, 10.0);
  for (double v : {0.3, 0.6}) {
    CorpusSubject s;
    s.geometry = 0;
    s.name = "v=" + std::to_string(v);
    s.speed = Eigen::VectorXd::Constant(mesh.num_points(), v);
    c.subjects.push_back(s);
    for (int m = 0; m < 8; ++m) {
      CorpusMap map;
      map.subject = int(c.subjects.size()) - 1;
      map.id = int(c.maps.size());
      map.split = m < 4 ? "train" : m < 6 ? "val" : "test";
      Eigen::RowVector3d x0(u(rng), u(rng), u(rng));
      map.truth.resize(mesh.num_points());
      for (int i = 0; i < mesh.num_points(); ++i) map.truth[i] = (mesh.points.row(i) - x0).norm() / v;
      map.observation = map.truth;
      c.maps.push_back(map);
    }
  }
  return c;
}

TrainConfig tiny_config() {
  auto json = core::Json::parse(R"({
    "model": {"encoder_channels": [4, 8, 8, 16], "hyper_hidden": [32, 32], "pinn_width": 12,
              "pinn_hidden_layers": 3, "velocity_width": 8, "velocity_layers": 3},
    "data": {"levels": 4},
    "train": {"epochs": 20, "k": 3, "queries": 3, "lr": 3e-3, "warmup_epochs": 1, "alpha_ramp_epochs": 6,
              "residual_points": 64, "val_every": 4, "seed": 3, "threads": 1}
  })");
  return read_train_config(json, "tiny.json");
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
    path = fs::temp_directory_path() / ("metapinn_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(Trainer, TinyEndToEndLossFallsAndOutputsAreValid) {
  TempDir tmp;
  const Corpus corpus = analytic_corpus();
  const fs::path run = tmp.path / "run";
  TrainConfig cfg = tiny_config();
  cfg.train.epochs = 16;
  train(cfg, corpus, run, false);
  for (const char* f : {"config.json", "last.pt", "best.pt", "log.csv"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  auto log = read_csv(run / "log.csv");
  ASSERT_EQ(log.size(), 17u);  // header + 16 epochs
  EXPECT_EQ(log[0][2], "data_loss");
  const double first = std::stod(log[1][2]), last = std::stod(log[16][2]);
  EXPECT_LT(last, 0.5 * first) << "data loss did not fall: " << first << " → " << last;
  EXPECT_FALSE(log[4][8].empty()) << "validation columns missing at epoch 4";

  // Resume continues the same run up to the new epoch count.
  cfg.train.epochs = 20;
  train(cfg, corpus, run, true);
  log = read_csv(run / "log.csv");
  ASSERT_EQ(log.size(), 21u);
  EXPECT_EQ(log[20][0], "20");
  const double total_first = std::stod(log[1][5]), total_last = std::stod(log[20][5]);
  EXPECT_LT(total_last, total_first);

  // Personalisation gives finite AT, velocities inside [v_min, v_max] and a residual on every node.
  auto model = load_model(run, "cpu", "last");
  EXPECT_EQ(model.epoch, 20);
  EvaluateOptions eo;
  eo.k = 3;
  eo.seed = 1;
  auto rows = evaluate(model, corpus, eo, false);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.metrics.at_corr));
    EXPECT_GE(r.metrics.at_corr, -1.0);
    EXPECT_LE(r.metrics.at_corr, 1.0);
    EXPECT_TRUE(std::isfinite(r.metrics.residual));
  }
  const auto& g = corpus.geometries[0];
  auto prepared = prepare_geometry(g.points, g.tets, g.observed, model.config.data, 5, torch::kCPU);
  auto p = personalize(model, prepared, {corpus.maps[0].observation, corpus.maps[1].observation},
                       corpus.maps[6].observation, g.observed);
  ASSERT_EQ(p.times.size(), g.points.rows());
  EXPECT_TRUE(p.times.allFinite());
  EXPECT_TRUE(p.residual.allFinite());
  EXPECT_GE(p.speed.minCoeff(), 0.1 - 1e-6);
  EXPECT_LE(p.speed.maxCoeff(), 0.6 + 1e-6);

  // A checkpoint of another architecture is refused with one line.
  auto other = to_json(model.config);
  other["model"]["pinn_width"] = 7;
  core::save_json_file(run / "config.json", other);
  const std::string msg = error_of([&] { load_model(run); });
  EXPECT_NE(msg.find("best.pt: checkpoint architecture 'metapinn-v1 encoder=4-8-8-16"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("does not match the configured"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(Trainer, BadInputsGiveOneLineErrors) {
  TempDir tmp;
  const Corpus corpus = analytic_corpus();
  TrainConfig cfg = tiny_config();
  cfg.train.k = 4;
  EXPECT_EQ(error_of([&] { train(cfg, corpus, tmp.path / "r", false); }),
            "subject 0 has 4 training maps; k = 4 needs at least 5 (k contexts and one query)");
  cfg.train.k = 3;
  cfg.train.holdout = "geometry";
  cfg.train.holdout_geometry = 0;
  EXPECT_EQ(error_of([&] { train(cfg, corpus, tmp.path / "r", false); }),
            "holdout 'geometry' leaves no subject to train on");
  EXPECT_EQ(error_of([&] { load_model(tmp.path / "missing"); }),
            "model directory '" + (tmp.path / "missing").string() + "' does not exist");
  fs::create_directories(tmp.path / "empty");
  EXPECT_EQ(error_of([&] { load_model(tmp.path / "empty"); }),
            "'" + (tmp.path / "empty").string() + "' is not a training run (config.json is missing)");
  EXPECT_EQ(error_of([] { read_train_config(core::Json::parse(R"({"train": {"lr": -1}})"), "cfg.json"); }),
            "cfg.json: key 'train.lr': value -1 is out of range [0, 10]");
  EXPECT_EQ(error_of([] {
              read_train_config(core::Json::parse(R"({"train": {"velocity_logit_penalty": -0.5}})"),
                                "cfg.json");
            }),
            "cfg.json: key 'train.velocity_logit_penalty': value -0.5 is out of range [0, 1e+09]");
  EXPECT_EQ(error_of([] { read_train_config(core::Json::parse(R"({"model": {"depth": 3}})"), "cfg.json"); }),
            "cfg.json: key 'model.depth': unknown key");
  EXPECT_EQ(
      error_of(
          [] { read_train_config(core::Json::parse(R"({"train": {"supervision": "some"}})"), "c.json"); }),
      "c.json: key 'train.supervision': unknown value \"some\" (expected one of \"all\", \"observed\")");
  EXPECT_EQ(
      error_of([] {
        read_train_config(core::Json::parse(R"({"model": {"velocity_activation": "tanh"}})"), "c.json");
      }),
      "c.json: key 'model.velocity_activation': unknown value \"tanh\" (expected one of \"relu\", \"elu\")");
}

// Four subjects on two geometries (two scars each), 6 maps each.
Corpus two_geometry_corpus() {
  Corpus c = analytic_corpus();  // subjects 0, 1 on geometry 0
  c.geometries.push_back(c.geometries[0]);
  const int maps = int(c.maps.size());
  for (int s = 0; s < 2; ++s) {
    CorpusSubject subject = c.subjects[s];
    subject.geometry = 1;
    c.subjects.push_back(subject);
  }
  for (int m = 0; m < maps; ++m) {
    CorpusMap map = c.maps[m];
    map.subject += 2;
    map.id = int(c.maps.size());
    c.maps.push_back(map);
  }
  for (auto& s : c.subjects) s.scar = (&s - c.subjects.data()) % 2;
  return c;
}

TEST(HeldOutSubjects, DiagonalAndGeometry) {
  const Corpus c = two_geometry_corpus();
  EXPECT_EQ(held_out_subjects(c, "none", 0), std::vector<int>{});
  EXPECT_EQ(held_out_subjects(c, "diagonal", 0), (std::vector<int>{0, 3}));  // scar g on geometry g
  EXPECT_EQ(held_out_subjects(c, "geometry", 1), (std::vector<int>{2, 3}));
  EXPECT_EQ(error_of([&] { held_out_subjects(c, "geometry", 2); }),
            "holdout_geometry 2 is not a geometry of the data (0-1)");
}

TEST(EvaluationPlan, OwnOtherSubjectAndFirstMaps) {
  const Corpus c = two_geometry_corpus();
  EvaluateOptions o;
  o.k = 3;
  const auto own = evaluation_plan(c, 2, o);
  EXPECT_EQ(own.context_subject, 2);
  EXPECT_EQ(own.queries, c.maps_of(2, "test"));
  for (int m : own.contexts) EXPECT_EQ(c.maps[m].split, "train");
  // The shuffled-context control: another subject of the same geometry, the same queries.
  o.contexts = "other";
  const auto other = evaluation_plan(c, 2, o);
  EXPECT_EQ(other.context_subject, 3);
  EXPECT_EQ(other.queries, own.queries);
  ASSERT_EQ(other.contexts.size(), 3u);
  for (int m : other.contexts) {
    EXPECT_EQ(c.maps[m].subject, 3);
    EXPECT_EQ(c.maps[m].split, "train");
  }
  EXPECT_EQ(evaluation_plan(c, 3, o).context_subject, 2);
  // Held-out tasks: the first k maps are the context, the rest (from query_start) the queries.
  o.contexts = "first";
  o.query_start = 5;
  const auto first = evaluation_plan(c, 1, o);
  const auto all = c.maps_of(1);
  EXPECT_EQ(first.contexts, std::vector<int>(all.begin(), all.begin() + 3));
  EXPECT_EQ(first.queries, std::vector<int>(all.begin() + 5, all.end()));
  o.query_start = 8;
  EXPECT_EQ(error_of([&] { evaluation_plan(c, 1, o); }), "subject 1 has 8 maps; 8 contexts leave no query");
}

// Held-out subjects never enter training: the run trains on the others only.
TEST(Trainer, HoldoutKeepsSubjectsOutOfTraining) {
  TempDir tmp;
  const Corpus corpus = two_geometry_corpus();
  TrainConfig cfg = tiny_config();
  cfg.train.epochs = 1;
  cfg.train.holdout = "diagonal";
  train(cfg, corpus, tmp.path / "run", false);
  const auto log = read_csv(tmp.path / "run" / "log.csv");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1][1], "2");  // one episode for each of the 2 subjects that are not held out
}
