// `metaeikonal lstm train|simulate`: the LSTM tissue simulator and its latent-ODE baseline on the
// states of a paced TTP06 slab (surrogates/lstm/). LibTorch stays behind surrogates/lstm/training.hpp.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/charts/charts.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "surrogates/lstm/rollout_report.hpp"
#include "surrogates/lstm/training.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

using core::BarSeries, core::LinePanel, core::LineSeries, core::ScatterSeries, core::write_bar_chart,
    core::write_line_chart, core::write_line_chart_grid, core::write_scatter_chart;
namespace {

namespace fs = std::filesystem;
namespace sl = surrogates::lstm;

/// Cells "i,j" → node indices on the data's grid.
std::vector<std::size_t> parse_cells(const std::vector<std::string>& specs, const sl::StatesData& d) {
  std::vector<std::size_t> cells;
  for (const auto& s : specs) {
    int i = -1, j = -1;
    char comma = 0;
    std::istringstream is(s);
    METAEIK_CHECK((is >> i >> comma >> j) && comma == ',' && is.eof(),
                  "--cell: expected \"i,j\", got \"" << s << "\"");
    METAEIK_CHECK(i >= 0 && i < d.grid.nx && j >= 0 && j < d.grid.ny,
                  "--cell: " << s << " is outside the " << d.grid.nx << "x" << d.grid.ny << " grid");
    cells.push_back(d.grid.index(i, j, 0));
  }
  return cells;
}

/// Fig. 3: true against predicted traces, one row per cell, one column per variable.
void write_trace_grid(const fs::path& png, const std::vector<const sl::Rollout*>& rollouts,
                      const sl::StatesData& d, const std::vector<std::size_t>& cells) {
  std::vector<LinePanel> panels;
  const std::size_t n = d.nodes, fs_ = d.frame_size();
  const sl::Rollout& r0 = *rollouts.front();
  for (auto c : cells)
    for (std::size_t v = 0; v < d.variables.size(); ++v) {
      LinePanel p;
      p.title = d.variables[v] + " at (" + std::to_string(c % d.grid.nx) + ", " +
                std::to_string(c / d.grid.nx) + ")";
      p.y_label = v == 0 ? "mV" : "mM";
      LineSeries truth{"truth", {}, {}};
      for (std::size_t k = 0; k < r0.steps && r0.first_frame + k < d.frames; ++k) {
        truth.x.push_back(k * d.interval_ms);
        truth.y.push_back(d.frame(r0.first_frame + k)[v * n + c]);
      }
      p.series.push_back(std::move(truth));
      for (const auto* r : rollouts) {
        LineSeries s{r->model, {}, {}};
        for (std::size_t k = 0; k < r->steps; ++k) {
          s.x.push_back(k * d.interval_ms);
          s.y.push_back(r->predicted[k * fs_ + v * n + c]);
        }
        p.series.push_back(std::move(s));
      }
      panels.push_back(std::move(p));
    }
  write_line_chart_grid(png, "true vs predicted states", "time after the first predicted frame (ms)",
                        int(cells.size()), int(d.variables.size()), panels);
}

void add_train(CLI::App& lstm) {
  struct Args {
    std::string config, data, output, model;
    bool resume = false;
    int epochs = 0, threads = -1;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd =
      lstm.add_subcommand("train", "Train the LSTM simulator (or the latent-ODE baseline) on a tissue run");
  cmd->add_option("-c,--config", a->config,
                  "Config JSON (configs/lstm/quick.json, paper.json); not needed with --resume");
  cmd->add_option("--data", a->data, "Tissue output directory with states.bin + states.json")->required();
  cmd->add_option("-o,--output", a->output, "Run directory (config.json, last.pt, log.csv)")->required();
  cmd->add_option("--model", a->model, "Override the config's model: lstm or latent-ode");
  cmd->add_flag("--resume", a->resume, "Continue the run in -o from its last.pt");
  cmd->add_option("--epochs", a->epochs, "Override the number of epochs (total, also on --resume)");
  cmd->add_option("--threads", a->threads, "LibTorch threads (overrides train.threads)");
  cmd->callback([a] {
    sl::LstmRunConfig cfg;
    if (!a->resume) {
      METAEIK_CHECK(!a->config.empty(), "--config is required (except with --resume)");
      core::Json j = core::load_json_file(a->config);
      METAEIK_CHECK(j.is_object(), a->config << ": expected a JSON object");
      if (!a->model.empty()) j["model"] = a->model;
      if (a->threads >= 0) j["train"]["threads"] = a->threads;
      cfg = sl::read_lstm_config(j, a->config);
    } else {
      METAEIK_CHECK(a->model.empty(), "--model cannot change the model of a run being resumed");
    }
    const auto s = sl::train_model(cfg, a->data, a->output, a->resume, a->epochs);
    spdlog::info("lstm train: {} epochs, {} steps, train loss {:.5g}, validation MSE {:.5g}, {:.0f} s -> {}",
                 s.epochs, s.steps, s.train_loss, s.validation_loss, s.seconds, a->output);
  });
}

void add_simulate(CLI::App& lstm) {
  struct Args {
    std::string run, baseline, data, output;
    long long warmup = 500, steps = 5000, start = 0;
    int threads = 0, vti_every = 10;
    std::vector<std::string> cells{"23,23", "12,12", "6,18", "0,0"};
    bool overwrite = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd =
      lstm.add_subcommand("simulate", "Autoregressive rollout of a trained run against the true states");
  cmd->add_option("-m,--model", a->run, "Run directory of `lstm train`")->required();
  cmd->add_option("--baseline", a->baseline,
                  "A second run (e.g. the latent ODE) simulated and scored alongside");
  cmd->add_option("--data", a->data, "Tissue output directory (the truth; the run's data)")->required();
  cmd->add_option("--warmup", a->warmup, "True frames fed before the first prediction")
      ->capture_default_str();
  cmd->add_option("--steps", a->steps, "Predicted frames (1 ms each)")->capture_default_str();
  cmd->add_option("--start", a->start, "First predicted frame (0 = the run's first test frame)");
  cmd->add_option("--threads", a->threads, "LibTorch threads (1 for the per-cycle timing)");
  cmd->add_option("--cell", a->cells, "Cells \"i,j\" for traces.csv/traces.png (default 4 cells)");
  cmd->add_option("--vti-every", a->vti_every, "Predicted frames between .vti frames")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "Output directory (written atomically)")->required();
  cmd->add_flag("--overwrite", a->overwrite, "Replace an existing output directory");
  cmd->callback([a] {
    METAEIK_CHECK(a->warmup >= 1, "--warmup: must be at least 1, got " << a->warmup);
    METAEIK_CHECK(a->steps >= 1, "--steps: must be at least 1, got " << a->steps);
    METAEIK_CHECK(a->start >= 0, "--start: must not be negative");
    METAEIK_CHECK(a->vti_every >= 1, "--vti-every: must be at least 1");
    const auto cfg = sl::load_run_config(a->run);
    const auto data = sl::load_states(a->data, cfg.data.variables);
    const auto cells = parse_cells(a->cells, data);
    core::AtomicDirectory out(a->output, a->overwrite);
    std::vector<sl::Rollout> rollouts;
    for (const auto& run : {a->run, a->baseline}) {
      if (run.empty()) continue;
      spdlog::info("lstm simulate: {} ({} warm-up frames, {} steps)", run, a->warmup, a->steps);
      rollouts.push_back(sl::simulate_model(run, data, static_cast<std::size_t>(a->start),
                                            static_cast<std::size_t>(a->warmup),
                                            static_cast<std::size_t>(a->steps), a->threads));
    }
    sl::ReportOptions ro;
    if (cfg.phase.period_ms > 0) ro.cycle_ms = cfg.phase.period_ms;
    core::Json summary;
    for (std::size_t k = 0; k < rollouts.size(); ++k) {
      const auto m = sl::rollout_metrics(rollouts[k], data, ro);
      core::Json j = sl::metrics_json(rollouts[k], m, data);
      j["run"] = fs::absolute(k == 0 ? a->run : a->baseline).string();
      spdlog::info(
          "{}: MSE [-1,1] V {:.4g} Cai {:.4g} CaSR {:.4g} Cass {:.4g} over {} steps; {} of {} cycles "
          "activate; "
          "{:.1f} ms per cycle",
          rollouts[k].model, m.mse_pm1[0], m.mse_pm1.size() > 1 ? m.mse_pm1[1] : NAN,
          m.mse_pm1.size() > 2 ? m.mse_pm1[2] : NAN, m.mse_pm1.size() > 3 ? m.mse_pm1[3] : NAN,
          m.compared_steps,
          std::count_if(m.activated.begin(), m.activated.end(),
                        [&](double f) { return f >= ro.activated_fraction; }),
          m.activated.size(), m.ms_per_cycle);
      if (!std::isnan(rollouts[k].warmup_one_step_mse))
        spdlog::info("{}: teacher-forced next-frame MSE over the warm-up {:.4g} (z-scores)",
                     rollouts[k].model, rollouts[k].warmup_one_step_mse);
      if (k == 0) {
        summary = j;
        summary["threads"] = a->threads;
        summary["data"] = fs::absolute(a->data).string();
        summary["mse_convention"] =
            "mse_pm1: prediction and truth mapped to [-1, 1] per attribute with the training part's min/max, "
            "MSE over "
            "the first compared_steps predicted steps (the published convention); mse_zscore: the same in "
            "z-score units "
            "of the training part; mse_per_cycle: V, [-1, 1] convention, per cycle of the rollout";
      } else {
        summary["baseline"] = j;
      }
    }
    core::save_json_file(out.path() / "summary.json", summary);
    std::vector<const sl::Rollout*> ptrs;
    for (const auto& r : rollouts) ptrs.push_back(&r);
    sl::write_cell_traces(out.path() / "traces.csv", ptrs, data, cells);
    sl::write_rollout_frames(out.path(), rollouts.front(), data, static_cast<std::size_t>(a->vti_every));
    write_trace_grid(out.path() / "traces.png", ptrs, data, cells);
    // Fig. 2: V at the first non-stimulus cell (centre by default) for every model and the truth.
    const std::size_t c = cells.size() > 1 ? cells[1] : cells[0];
    std::vector<LineSeries> v;
    const auto& r0 = rollouts.front();
    LineSeries truth{"truth", {}, {}};
    for (std::size_t k = 0; k < r0.steps && r0.first_frame + k < data.frames; ++k) {
      truth.x.push_back(k * data.interval_ms);
      truth.y.push_back(data.frame(r0.first_frame + k)[c]);
    }
    v.push_back(truth);
    for (const auto& r : rollouts) {
      LineSeries s{r.model, {}, {}};
      for (std::size_t k = 0; k < r.steps; ++k) {
        s.x.push_back(k * data.interval_ms);
        s.y.push_back(r.predicted[k * data.frame_size() + c]);
      }
      v.push_back(std::move(s));
    }
    write_line_chart(
        out.path() / "v_models.png",
        "V at (" + std::to_string(c % data.grid.nx) + ", " + std::to_string(c / data.grid.nx) + ")",
        "time after the first predicted frame (ms)", "V (mV)", v);
    out.commit();
    spdlog::info("lstm simulate: wrote {}", a->output);
  });
}

}  // namespace

void add_lstm_command(CLI::App& app) {
  CLI::App* lstm =
      app.add_subcommand("lstm", "LSTM tissue simulator and latent-ODE baseline (paced TTP06 slab)");
  lstm->require_subcommand(1);
  add_train(*lstm);
  add_simulate(*lstm);
}

}  // namespace metaeik::tools
