// Sweeps: shards form an exact partition, the results CSV survives a killed write, a sweep resumes
// after a stop or a kill with exactly one row per model, merge refuses overlaps and gaps, and the
// CLI's bad flags are one-line errors.

#include "surrogates/fhn/sweep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "core/config.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::surrogates::fhn {
namespace {

using test::error_of;

/// A sweep that trains in well under a second per model: problem A, 20 points, tiny networks.
core::Json tiny_sweep(int per_group = 1) {
  const core::Json study{{"problem", {{"problem", "a"}}},
                         {"data", {{"points", 20}, {"store_dt", 0.1}}},
                         {"train", {{"iterations", 30}, {"bench_samples", 10}}},
                         {"kind", "ddnn"}};
  core::Json itnn = study;
  itnn["kind"] = "itnn";
  return {{"zoo", {{"seed", 0}, {"per_group", per_group}, {"widths", {4, 8, 16}}, {"max_neurons", 40}}},
          {"studies", {study, itnn}}};
}

std::size_t count_rows(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::size_t n = 0;
  for (std::getline(in, line); std::getline(in, line);) n += !line.empty();
  return n;
}

TEST(FhnSweep, ShardsFormAnExactPartition) {
  SweepConfig c = read_sweep_config(tiny_sweep(3), "sweep.json", ".");
  const auto jobs = sweep_jobs(c);
  ASSERT_EQ(jobs.size(), 2u * 24);
  for (int n : {1, 2, 3, 5, 7, 48, 50}) {
    std::map<int, int> owner;
    std::size_t total = 0;
    for (int i = 1; i <= n; ++i) {
      const auto part = shard_jobs(jobs, {i, n});
      total += part.size();
      for (const auto& j : part)
        EXPECT_TRUE(owner.emplace(j.index, i).second) << "job " << j.index << " twice";
      EXPECT_LE(part.size(), jobs.size() / n + 1);
    }
    EXPECT_EQ(total, jobs.size()) << n << " shards";
    EXPECT_EQ(owner.size(), jobs.size());
  }
}

TEST(FhnSweep, ShardFlagAndConfigErrors) {
  EXPECT_EQ(parse_shard("2/4").index, 2);
  EXPECT_EQ(error_of([] { parse_shard("5/4"); }), "--shard: need 1 <= I <= N, got \"5/4\"");
  EXPECT_EQ(error_of([] { parse_shard("two"); }), "--shard: expected I/N (e.g. 2/4), got \"two\"");
  EXPECT_EQ(error_of([] { parse_shard("1/2x"); }), "--shard: expected I/N (e.g. 2/4), got \"1/2x\"");
  core::Json j = tiny_sweep();
  j["studies"][1]["kind"] = "ddnn";
  EXPECT_EQ(error_of([&] { read_sweep_config(j, "sweep.json", "."); }),
            "sweep.json: key 'studies[1]': problem a with kind ddnn is already studies[0]");
  j = tiny_sweep();
  j["zoo"]["size"] = 3;
  EXPECT_EQ(error_of([&] { read_sweep_config(j, "sweep.json", "."); }),
            "sweep.json: key 'zoo.size': unknown key");
  j = tiny_sweep();
  j["extra"] = {"Tanh8-Nope4"};
  EXPECT_EQ(error_of([&] { read_sweep_config(j, "sweep.json", "."); }),
            "sweep.json: key 'extra[0]': architecture \"Tanh8-Nope4\": layer 2 \"Nope4\": unknown activation "
            "\"Nope\" (expected one of ReLU, Tanh, Sigmoid, LeakyReLU, ELU, SiLU)");
  j = tiny_sweep();
  j["studies"][0]["train"]["iterations"] = "many";
  EXPECT_EQ(error_of([&] { read_sweep_config(j, "sweep.json", "."); }),
            "sweep.json (studies[0]): key 'train.iterations': expected an integer, got a string");
}

TEST(FhnSweep, ResultsCsvDropsAPartialLastLine) {
  test::TempDir tmp("fhn_csv");
  ResultRow r{"Tanh8-Tanh8", "rectangle", 2, 16, 100, "ddnn", "a", 1.5e-3, 2e-2, 1.25, 0.5};
  write_results_csv(tmp / "results.csv", {r, r});
  { std::ofstream(tmp / "results.csv", std::ios::app) << "Tanh8-Tanh16,funnel,2,24,1"; }
  const auto rows = read_results_csv(tmp / "results.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].architecture, "Tanh8-Tanh8");
  EXPECT_DOUBLE_EQ(rows[1].val_mae, 1.5e-3);
  EXPECT_EQ(count_rows(tmp / "results.csv"), 2u);  // the file itself was repaired
  std::ifstream in(tmp / "results.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "architecture,class,layers,neurons,parameters,kind,problem,val_mae,val_max_error,train_seconds,"
            "inference_seconds");
}

TEST(FhnSweep, ResumesAfterAStopWithExactlyOneRowPerModelAndMerges) {
  test::TempDir tmp("fhn_sweep");
  const SweepConfig c = read_sweep_config(tiny_sweep(), "sweep.json", ".");
  const auto jobs = sweep_jobs(c);
  ASSERT_EQ(jobs.size(), 16u);
  SweepOptions o;
  o.progress = false;
  // Shard 1/2 stopped after 3 models, then resumed; shard 2/2 in one go.
  o.out = tmp / "s1", o.shard = {1, 2}, o.max_models = 3;
  EXPECT_EQ(run_sweep(c, o).size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(tmp / "s1" / "summary.md"));
  EXPECT_EQ(error_of([&] { merge_sweeps({tmp / "s1"}, tmp / "m0"); }), "merge: gap: shard 2/2 is missing");
  o.max_models = 0;
  EXPECT_EQ(run_sweep(c, o).size(), 8u);
  EXPECT_EQ(run_sweep(c, o).size(), 8u);  // a complete shard trains nothing more
  o.out = tmp / "s2", o.shard = {2, 2};
  run_sweep(c, o);
  std::set<std::string> keys;
  for (const auto& d : {"s1", "s2"})
    for (const auto& r : read_results_csv(tmp / d / "results.csv")) EXPECT_TRUE(keys.insert(r.key()).second);
  EXPECT_EQ(keys.size(), 16u);
  const auto merged = merge_sweeps({tmp / "s2", tmp / "s1"}, tmp / "merged");
  EXPECT_EQ(merged.size(), 16u);
  EXPECT_EQ(count_rows(tmp / "merged" / "results.csv"), 16u);
  EXPECT_TRUE(std::filesystem::exists(tmp / "merged" / "summary.md"));
  EXPECT_EQ(count_rows(tmp / "merged" / "itnn.csv"), 8u);
  // A different shard or config in an existing directory is refused.
  o.shard = {1, 2};
  EXPECT_EQ(error_of([&] { run_sweep(c, o); }),
            (tmp / "s2").string() +
                ": holds a different sweep or shard (sweep.json differs); use another output "
                "directory");
  // Overlap: the same shard twice; gap: a shard missing one row.
  std::filesystem::copy(tmp / "s1", tmp / "s1copy");
  EXPECT_EQ(error_of([&] {
              merge_sweeps({tmp / "s1", tmp / "s1copy", tmp / "s2"}, tmp / "m1");
            }),
            (tmp / "s1copy").string() + ": shard 1/2 is also " + (tmp / "s1").string());
  auto rows = read_results_csv(tmp / "s1copy" / "results.csv");
  const std::string dropped = rows.back().problem + "/" + rows.back().kind + " " + rows.back().architecture;
  rows.pop_back();
  write_results_csv(tmp / "s1copy" / "results.csv", rows);
  EXPECT_EQ(error_of([&] {
              merge_sweeps({tmp / "s1copy", tmp / "s2"}, tmp / "m2");
            }),
            "merge: gap: 1 models have no row (e.g. " + dropped + "); finish that shard's sweep first");
  rows.push_back(read_results_csv(tmp / "s2" / "results.csv").front());
  rows.push_back(rows.back());
  write_results_csv(tmp / "s1copy" / "results.csv", rows);
  const auto& o2 = rows.back();
  EXPECT_EQ(error_of([&] {
              merge_sweeps({tmp / "s1copy", tmp / "s2"}, tmp / "m3");
            }),
            "merge: overlap: " + o2.problem + "/" + o2.kind + " " + o2.architecture + " is in " +
                (tmp / "s1copy").string() + " and " + (tmp / "s1copy").string());
}

TEST(FhnSweepCli, KilledMidwayAndRunAgainCompletesWithOneRowPerModel) {
  test::TempDir tmp("fhn_kill");
  core::Json j = tiny_sweep(1);
  j["studies"][0]["train"]["iterations"] = 300;
  j["studies"][1]["train"]["iterations"] = 300;
  core::save_json_file(tmp / "sweep.json", j);
  const auto out = tmp / "out";
  const std::string cmd = std::string(METAEIK_CLI) + " -q fhn sweep -c " + (tmp / "sweep.json").string() +
                          " -o " + out.string() + " > /dev/null 2>&1";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it once two rows are in (waits up to 5 min: on a loaded machine the first rows come late).
  const auto csv = out / "results.csv";
  for (int i = 0; i < 15000 && !(std::filesystem::exists(csv) && count_rows(csv) >= 2); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::size_t before = count_rows(csv);
  EXPECT_GE(before, 2u);
  EXPECT_LT(before, 16u) << "the sweep finished before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(out / "summary.md"));
  const auto r = test::run_cli("-q fhn sweep -c " + (tmp / "sweep.json").string() + " -o " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_results_csv(csv);
  std::set<std::string> keys;
  for (const auto& row : rows) EXPECT_TRUE(keys.insert(row.key()).second) << row.key();
  EXPECT_EQ(rows.size(), 16u);
  EXPECT_TRUE(std::filesystem::exists(out / "summary.md"));
  EXPECT_TRUE(std::filesystem::exists(out / "fig3_error_vs_time.png"));
  EXPECT_TRUE(std::filesystem::exists(out / "fig2_mae_by_class_a_ddnn.png"));
}

TEST(FhnCli, BadFlagsAndArchitecturesAreOneLineErrors) {
  test::TempDir tmp("fhn_cli");
  core::save_json_file(tmp / "sweep.json", tiny_sweep());
  auto r = test::run_cli("fhn sweep -c " + (tmp / "sweep.json").string() + " -o " + (tmp / "o").string() +
                         " --shard 0/3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: --shard: need 1 <= I <= N, got \"0/3\"\n");
  const auto cfg = test::source_dir() / "configs" / "fhn" / "problem_a.json";
  r = test::run_cli("fhn train -c " + cfg.string() + " -o " + (tmp / "t").string() +
                    " --architecture Tanh16-Relu8");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.output,
      "error: --architecture: architecture \"Tanh16-Relu8\": layer 2 \"Relu8\": unknown activation \"Relu\" "
      "(expected one of ReLU, Tanh, Sigmoid, LeakyReLU, ELU, SiLU)\n");
  r = test::run_cli("fhn train -c " + cfg.string() + " -o " + (tmp / "t").string() + " --kind gan");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: --kind: expected ddnn, pinn or itnn, got \"gan\"\n");
  r = test::run_cli("fhn bench -m " + (tmp / "nothing").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + (tmp / "nothing").string() + ": no model.pt (train a model first)\n");
  r = test::run_cli("fhn zoo -o " + (tmp / "zoo.csv").string() + " --per_group 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: zoo: per_group must be positive, got 0\n");
}

TEST(FhnCli, TrainThenBenchPrintsTheTimeRatio) {
  test::TempDir tmp("fhn_bench");
  core::Json j{{"problem", {{"problem", "b"}}},
               {"data", {{"trajectories", 6}, {"train", 3}, {"validation", 3}}},
               {"train", {{"iterations", 20}, {"batch_size", 64}, {"bench_samples", 10}}},
               {"architecture", "Tanh8-Tanh8"}};
  core::save_json_file(tmp / "b.json", j);
  auto r = test::run_cli("-q fhn train -c " + (tmp / "b.json").string() + " -o " + (tmp / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& f : {"config.json", "model.pt", "optimizer.pt", "state.json", "log.csv", "metrics.json"})
    EXPECT_TRUE(std::filesystem::exists(tmp / "run" / f)) << f;
  r = test::run_cli("-q fhn bench -m " + (tmp / "run").string() + " --samples 50 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const core::Json out = core::Json::parse(r.output);
  EXPECT_GT(out.at("ratio_euler_0.1").get<double>(), 0.0);
  EXPECT_GT(out.at("euler_0.1_mae").get<double>(), 0.0);
  EXPECT_EQ(out.at("samples").get<int>(), 50);
  r = test::run_cli("fhn train -c " + (tmp / "b.json").string() + " -o " + (tmp / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + (tmp / "run").string() +
                          ": already holds a run (use --resume, or another directory)\n");
}

}  // namespace
}  // namespace metaeik::surrogates::fhn
