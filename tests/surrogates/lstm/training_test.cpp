// Training runs on a tiny synthetic slab: checkpoints, the CSV log, resume equal to an
// uninterrupted run, the rollout (length, statistics from the training part), and errors.
#include "surrogates/lstm/training.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "surrogates/lstm/rollout_report.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"
#include "tests/surrogates/lstm/states_fixture.hpp"

namespace metaeik::surrogates::lstm {
namespace {

LstmRunConfig tiny(const std::string& model) {
  LstmRunConfig c;
  c.model = model;
  c.data.variables = {"V", "Cai"};
  c.data.window = 10;
  c.data.stride = 3;
  c.data.validation_fraction = 0.2;
  c.data.max_validation_windows = 2;
  c.phase.enabled = true;
  c.phase.period_ms = 20;
  c.lstm.hidden = 8;
  c.lstm.dropout = 0;         // deterministic across resume
  c.lstm.free_run_steps = 4;  // the last 4 steps of each window fed back
  c.lstm.batch_size = 4;
  c.lstm.epochs = 2;
  c.latent_ode.latent = 4;
  c.latent_ode.ode_hidden = 8;
  c.latent_ode.recognition_hidden = 5;
  c.latent_ode.decoder_hidden = 8;
  c.latent_ode.batch_size = 4;
  c.latent_ode.epochs = 1;
  c.train.threads = 1;
  c.train.checkpoint_every = 2;
  return c;
}

std::size_t lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::size_t n = 0;
  for (std::string s; std::getline(in, s);) ++n;
  return n;
}

TEST(LstmPacing, PhaseFeaturesAndStimulusWeightsFollowTheProtocol) {
  PhaseOptions p;
  p.period_ms = 500;
  p.stimulus_start_ms = 100;
  p.stimulus_duration_ms = 1;
  EXPECT_EQ(phase_features(p, 99)[0], 0.0f);   // before the first stimulus
  EXPECT_EQ(phase_features(p, 100)[0], 1.0f);  // on during [100, 101)
  EXPECT_EQ(phase_features(p, 101)[0], 0.0f);
  EXPECT_EQ(phase_features(p, 600)[0], 1.0f);         // one period later
  EXPECT_NEAR(phase_features(p, 225)[1], 1.0, 1e-6);  // a quarter period: sin 1, cos 0
  EXPECT_NEAR(phase_features(p, 225)[2], 0.0, 1e-6);
  // Targets in (0, 5] ms after each onset get the weight; the onset frame itself and frames before
  // the first stimulus do not.
  for (double t : {0.0, 99.0, 100.0, 106.0, 599.0, 600.0}) EXPECT_EQ(stimulus_weight(p, t, 50, 5), 1.0) << t;
  for (double t : {101.0, 105.0, 601.0, 605.0}) EXPECT_EQ(stimulus_weight(p, t, 50, 5), 50.0) << t;
}

TEST(LstmTraining, ResumeEqualsAnUninterruptedRunAndRollsOut) {
  test::TempDir tmp("lstm_train");
  const auto data_dir = tmp / "data";
  write_states(data_dir, 100, {}, 0,
               [](std::size_t f, std::size_t v, std::size_t c) { return paced_value(f, v, c); });
  const auto cfg = tiny("lstm");
  const auto full = train_model(cfg, data_dir, tmp / "full", false);
  EXPECT_EQ(full.epochs, 2);
  EXPECT_TRUE(std::isfinite(full.validation_loss));
  auto one = cfg;
  one.lstm.epochs = 1;
  train_model(one, data_dir, tmp / "split", false);
  const auto resumed = train_model({}, data_dir, tmp / "split", true, 2);
  EXPECT_EQ(resumed.steps, full.steps);
  // header + (checkpoint rows + epoch row) per epoch, whether resumed or not
  EXPECT_EQ(lines(tmp / "split" / "log.csv"), lines(tmp / "full" / "log.csv"));

  const auto data = load_states(data_dir, {"V", "Cai"});
  const auto a = simulate_model(tmp / "full", data, 0, 20, 30, 1);
  const auto b = simulate_model(tmp / "split", data, 0, 20, 30, 1);
  EXPECT_EQ(a.first_frame, 80u);  // first test frame of the 80/20 split
  EXPECT_EQ(a.steps, 30u);
  ASSERT_EQ(a.predicted.size(), 30u * data.frame_size());
  EXPECT_EQ(a.predicted, b.predicted);
  const auto st = attribute_stats(data, 80);
  for (std::size_t v = 0; v < 2; ++v)
    EXPECT_NEAR(a.stats.mean[v], st.mean[v], 1e-5 * std::abs(st.mean[v]) + 1e-9);
  const auto m = rollout_metrics(a, data, {20, 20, -40, 0.95});
  EXPECT_EQ(m.compared_steps, 20u);   // 20 frames of truth after frame 80
  EXPECT_EQ(m.activated.size(), 1u);  // one full 20-frame cycle in 30 steps
  EXPECT_EQ(m.true_activated, std::vector<double>{1.0});

  EXPECT_EQ(test::error_of([&] { train_model(cfg, data_dir, tmp / "full", false); }),
            (tmp / "full").string() + ": already holds a run (use --resume, or another -o)");
  EXPECT_EQ(test::error_of([&] { simulate_model(tmp / "full", data, 0, 81, 5); }),
            "--warmup 81 reaches before the first frame (start 80)");
}

TEST(LstmTraining, LatentOdeTrainsAndExtrapolates) {
  test::TempDir tmp("lstm_ode");
  const auto data_dir = tmp / "data";
  write_states(data_dir, 60, {}, 0,
               [](std::size_t f, std::size_t v, std::size_t c) { return paced_value(f, v, c); });
  const auto s = train_model(tiny("latent-ode"), data_dir, tmp / "ode", false);
  EXPECT_EQ(s.epochs, 1);
  EXPECT_TRUE(std::isfinite(s.train_loss));
  const auto data = load_states(data_dir, {"V", "Cai"});
  const auto r = simulate_model(tmp / "ode", data, 0, 10, 25, 1);
  EXPECT_EQ(r.model, "latent-ode");
  EXPECT_EQ(r.predicted.size(), 25u * data.frame_size());
}

TEST(LstmCli, BadConfigAndDataAreOneLineErrors) {
  test::TempDir tmp("lstm_cli");
  std::ofstream(tmp / "bad.json") << R"({"lstm": {"layers": 2, "hiden": 3}})";
  auto r = test::run_cli("lstm train -c " + (tmp / "bad.json").string() + " --data " + tmp.path().string() +
                         " -o " + (tmp / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("bad.json: key 'lstm.hiden': unknown key"), std::string::npos) << r.output;
  std::ofstream(tmp / "ok.json") << R"({"model": "lstm"})";
  r = test::run_cli("lstm train -c " + (tmp / "ok.json").string() + " --data " + tmp.path().string() +
                    " -o " + (tmp / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find((tmp / "states.json").string() + ": not found"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace metaeik::surrogates::lstm
