// `metaeikonal fhn dataset|train|zoo|sweep|merge|bench`: neural surrogates of the FitzHugh–Nagumo
// cell (surrogates/fhn). The figures of a sweep are written by tools/fhn_figures.cpp.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/charts/charts.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "surrogates/fhn/architecture.hpp"
#include "surrogates/fhn/sweep.hpp"
#include "surrogates/fhn/train.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

using core::BarSeries, core::LinePanel, core::LineSeries, core::ScatterSeries, core::write_bar_chart,
    core::write_line_chart, core::write_line_chart_grid, core::write_scatter_chart;

void write_fhn_figures(const std::filesystem::path& dir);  // tools/fhn_figures.cpp

namespace {

namespace fhn = surrogates::fhn;

void add_dataset(CLI::App& parent) {
  struct Args {
    std::string config, output;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = parent.add_subcommand("dataset", "Generate a problem's Euler data (trajectories + starts)");
  cmd->add_option("-c,--config", a->config, "FHN config JSON (configs/fhn/problem_*.json)")->required();
  cmd->add_option("-o,--output", a->output, "Output directory")->required();
  cmd->add_flag("--force", a->force, "Replace an existing output directory");
  cmd->callback([a] {
    const fhn::FhnConfig c = fhn::load_fhn_config(a->config);
    const fhn::Dataset d = fhn::make_dataset(c.problem, c.data);
    core::AtomicDirectory dir(a->output, a->force);
    auto write_split = [&](const std::string& name, const fhn::Trajectories& t) {
      core::write_file_atomically(
          dir.path() / (name + "_trajectories.bin"),
          [&](std::ostream& os) {
            os.write(reinterpret_cast<const char*>(t.y.data()),
                     static_cast<std::streamsize>(t.y.size() * sizeof(double)));
          },
          true);
      core::write_file_atomically(dir.path() / (name + "_starts.csv"), [&](std::ostream& os) {
        os.precision(17);
        os << "u0,w0,k\n";
        for (int j = 0; j < t.count; ++j) os << t.u0[j] << ',' << t.w0[j] << ',' << t.k[j] << '\n';
      });
    };
    write_split("train", d.train);
    write_split("validation", d.validation);
    core::save_json_file(dir.path() / "dataset.json",
                         {{"config", fhn::to_json(c)},
                          {"layout", "float64 [trajectory][point][u, w], point i at t = i * store_dt ms"},
                          {"store_dt", d.train.store_dt},
                          {"points", d.train.points},
                          {"train_trajectories", d.train.count},
                          {"validation_trajectories", d.validation.count},
                          {"train_samples", d.train_samples.rows()},
                          {"validation_samples", d.validation_samples.rows()}});
    dir.commit();
    spdlog::info("fhn dataset: problem {}: {} + {} trajectories of {} points -> {}", c.problem.problem,
                 d.train.count, d.validation.count, d.train.points, a->output);
  });
}

void add_train(CLI::App& parent) {
  struct Args {
    std::string config, output, architecture, kind;
    int iterations = -1, threads = 0;
    bool resume = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = parent.add_subcommand("train", "Train one surrogate (log.csv, model.pt, metrics.json)");
  cmd->add_option("-c,--config", a->config, "FHN config JSON")->required();
  cmd->add_option("-o,--output", a->output, "Run directory")->required();
  cmd->add_option("--architecture", a->architecture,
                  "Override the architecture (e.g. SiLU64-Sigmoid64-Sigmoid64)");
  cmd->add_option("--kind", a->kind, "Override the kind: ddnn, pinn, itnn");
  cmd->add_option("--iterations", a->iterations, "Override train.iterations");
  cmd->add_option("--threads", a->threads, "Override train.threads");
  cmd->add_flag("--resume", a->resume, "Continue the run in the output directory");
  cmd->callback([a] {
    fhn::FhnConfig c = fhn::load_fhn_config(a->config);
    if (!a->architecture.empty()) {
      try {
        c.architecture = fhn::Architecture::parse(a->architecture).to_string();
      } catch (const core::Error& e) {
        METAEIK_FAIL("--architecture: " << e.what());
      }
    }
    if (!a->kind.empty()) {
      METAEIK_CHECK(a->kind == "ddnn" || a->kind == "pinn" || a->kind == "itnn",
                    "--kind: expected ddnn, pinn or itnn, got \"" << a->kind << "\"");
      c.kind = a->kind;
    }
    if (a->iterations >= 0) c.train.iterations = a->iterations;
    if (a->threads > 0) c.train.threads = a->threads;
    METAEIK_CHECK(a->resume || !std::filesystem::exists(std::filesystem::path(a->output) / "state.json"),
                  a->output << ": already holds a run (use --resume, or another directory)");
    const fhn::Dataset d = fhn::make_dataset(c.problem, c.data);
    const fhn::TrainResult r = fhn::train_surrogate(c, d, fhn::RunFiles{a->output, a->resume, true});
    // Loss curve.
    std::ifstream in(std::filesystem::path(a->output) / "log.csv");
    std::string line;
    LineSeries loss{"training loss", {}, {}};
    for (std::getline(in, line); std::getline(in, line);) {
      const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
      loss.x.push_back(std::stod(line.substr(0, c1)));
      loss.y.push_back(std::stod(line.substr(c1 + 1, c2 - c1 - 1)));
    }
    if (loss.x.size() >= 2)
      write_line_chart(std::filesystem::path(a->output) / "loss.png",
                       c.architecture + " (" + c.kind + ", problem " + c.problem.problem + ")", "iteration",
                       "training loss (log10)", {loss}, true);
    spdlog::info("fhn train: {} {} problem {}: val MAE {:.3e}, max error {:.3e}, {} steps in {:.1f} s",
                 c.kind, c.architecture, c.problem.problem, r.val_mae, r.val_max_error, r.iterations,
                 r.train_seconds);
    if (c.kind == "itnn")
      spdlog::info("fhn train: rollouts {}: diverged {}, false equilibria {}", r.rollout.rollouts,
                   r.rollout.diverged, r.rollout.false_equilibria);
  });
}

void add_zoo(CLI::App& parent) {
  auto o = std::make_shared<fhn::ZooOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd =
      parent.add_subcommand("zoo", "Write the architecture zoo (800 architectures by default) as CSV");
  cmd->add_option("-o,--output", *out, "Zoo CSV")->required();
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->add_option("--per_group", o->per_group, "Architectures per (layers, class) group")
      ->capture_default_str();
  cmd->add_option("--max_neurons", o->max_neurons, "Neuron budget")->capture_default_str();
  cmd->callback([o, out] {
    const auto zoo = fhn::make_zoo(*o);
    fhn::write_zoo_csv(*out, zoo);
    std::map<std::string, int> count;
    for (const auto& e : zoo) ++count[e.shape];
    std::string s;
    for (const auto& [k, v] : count) s += " " + k + " " + std::to_string(v);
    spdlog::info("fhn zoo: {} architectures ({}) -> {}", zoo.size(), s.substr(1), *out);
  });
}

void add_sweep(CLI::App& parent) {
  struct Args {
    std::string config, output, shard = "1/1";
    int max_models = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd =
      parent.add_subcommand("sweep", "Train every zoo architecture for each study (resumable, shardable)");
  cmd->add_option("-c,--config", a->config, "Sweep config JSON (configs/fhn/quick.json)")->required();
  cmd->add_option("-o,--output", a->output, "Output directory (an interrupted sweep there is resumed)")
      ->required();
  cmd->add_option("--shard", a->shard, "Train shard I of N (jobs with index % N == I - 1)")
      ->capture_default_str();
  cmd->add_option("--max_models", a->max_models, "Stop after this many models (0 = all)");
  cmd->callback([a] {
    const fhn::SweepConfig c = fhn::load_sweep_config(a->config);
    fhn::SweepOptions o;
    o.out = a->output;
    o.shard = fhn::parse_shard(a->shard);
    METAEIK_CHECK(a->max_models >= 0, "--max_models: must be >= 0, got " << a->max_models);
    o.max_models = a->max_models;
    const auto rows = fhn::run_sweep(c, o);
    const auto mine = fhn::shard_jobs(fhn::sweep_jobs(c), o.shard);
    if (rows.size() >= mine.size()) {
      write_fhn_figures(o.out);
      spdlog::info("fhn sweep: {} models -> {}/results.csv, summary.md, figures", rows.size(), a->output);
    } else {
      spdlog::info("fhn sweep: {} of {} models done; run again to continue", rows.size(), mine.size());
    }
  });
}

void add_merge(CLI::App& parent) {
  struct Args {
    std::vector<std::string> dirs;
    std::string output;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = parent.add_subcommand("merge", "Join the shard directories of one sweep");
  cmd->add_option("shards", a->dirs, "Shard output directories")->required();
  cmd->add_option("-o,--output", a->output, "Merged output directory")->required();
  cmd->callback([a] {
    std::vector<std::filesystem::path> dirs(a->dirs.begin(), a->dirs.end());
    const auto rows = fhn::merge_sweeps(dirs, a->output);
    write_fhn_figures(a->output);
    spdlog::info("fhn merge: {} shards, {} rows -> {}", dirs.size(), rows.size(), a->output);
  });
}

void add_report(CLI::App& parent) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = parent.add_subcommand("report",
                                        "Write summary.md and the figures of a sweep directory, also of an "
                                        "unfinished sweep (its rows so far)");
  cmd->add_option("dir", *dir, "Sweep output directory")->required();
  cmd->callback([dir] {
    METAEIK_CHECK(std::filesystem::exists(std::filesystem::path(*dir) / "results.csv"),
                  *dir << ": not a sweep directory (no results.csv)");
    fhn::write_sweep_summary(*dir);
    write_fhn_figures(*dir);
    spdlog::info("fhn report: {} rows -> {}/summary.md and figures",
                 fhn::read_results_csv(std::filesystem::path(*dir) / "results.csv").size(), *dir);
  });
}

void add_bench(CLI::App& parent) {
  struct Args {
    std::string run;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto o = std::make_shared<fhn::BenchOptions>();
  CLI::App* cmd =
      parent.add_subcommand("bench", "Time a trained surrogate against the vectorised Euler solver");
  cmd->add_option("-m,--model", a->run, "Run directory of `fhn train`")->required();
  cmd->add_option("--samples", o->samples, "Trajectories")->capture_default_str();
  cmd->add_option("--duration", o->duration, "Simulated ms (outputs every 1 ms)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads for the network and Euler")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the starts")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print one JSON line on stdout");
  cmd->callback([a, o] {
    const fhn::BenchResult r = fhn::bench_run(a->run, *o);
    const auto& e01 = r.euler.at(0);
    const auto& e001 = r.euler.at(1);
    spdlog::info("fhn bench: {} {} problem {}: {} samples x {} ms, {} thread(s), {}", r.config.kind,
                 r.config.architecture, r.config.problem.problem, r.samples, r.duration, o->threads,
                 o->device);
    spdlog::info("  surrogate     {:9.4f} s   MAE vs Euler 0.01: {:.3e} (t <= {} ms: {:.3e})",
                 r.surrogate_seconds, r.surrogate_mae, r.config.problem.horizon, r.surrogate_mae_horizon);
    spdlog::info("  Euler dt 0.1  {:9.4f} s   MAE vs Euler 0.01: {:.3e}", e01.seconds, e01.mae);
    spdlog::info("  Euler dt 0.01 {:9.4f} s   (reference)", e001.seconds);
    spdlog::info("  time ratio surrogate / Euler 0.1 = {:.2f}, surrogate / Euler 0.01 = {:.3f}",
                 r.surrogate_seconds / e01.seconds, r.surrogate_seconds / e001.seconds);
    if (a->json) {
      const core::Json j{{"architecture", r.config.architecture},
                         {"kind", r.config.kind},
                         {"problem", r.config.problem.problem},
                         {"samples", r.samples},
                         {"duration", r.duration},
                         {"threads", o->threads},
                         {"device", o->device},
                         {"surrogate_seconds", r.surrogate_seconds},
                         {"surrogate_mae", r.surrogate_mae},
                         {"surrogate_mae_horizon", r.surrogate_mae_horizon},
                         {"euler_0.1_seconds", e01.seconds},
                         {"euler_0.1_mae", e01.mae},
                         {"euler_0.01_seconds", e001.seconds},
                         {"ratio_euler_0.1", r.surrogate_seconds / e01.seconds},
                         {"ratio_euler_0.01", r.surrogate_seconds / e001.seconds}};
      std::printf("%s\n", j.dump().c_str());
    }
  });
}

}  // namespace

void add_fhn_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "fhn", "FitzHugh–Nagumo neural surrogates: dataset, train, zoo, sweep, merge, report, bench");
  cmd->require_subcommand(1);
  add_dataset(*cmd);
  add_train(*cmd);
  add_zoo(*cmd);
  add_sweep(*cmd);
  add_merge(*cmd);
  add_report(*cmd);
  add_bench(*cmd);
}

}  // namespace metaeik::tools
