// `metaeikonal aphyn train|forecast`: APHYN-EP, Mitchell–Schaeffer + ResNet hybrid learned from action
// potential traces (surrogates/aphyn). A run directory holds config.json, one model directory per
// trained model (aphyn/, physics_only/: model.json, last.pt, log.csv), summary.json/.md and
// plots/<trace>.png (validation traces: truth, prediction, ∫F_p and ∫F_dl, physics-only prediction).
// With data.rois the same layout is made per ROI under roi_<name>/, and summary.json lists them.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>

#include "core/charts/charts.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "surrogates/aphyn/data.hpp"
#include "surrogates/aphyn/trainer.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

using core::BarSeries, core::LinePanel, core::LineSeries, core::ScatterSeries, core::write_bar_chart,
    core::write_line_chart, core::write_line_chart_grid, core::write_scatter_chart;
namespace {

namespace fs = std::filesystem;
using namespace surrogates::aphyn;

std::string sci(double x) {
  std::ostringstream os;
  os << std::setprecision(3) << std::scientific << x;
  return os.str();
}

core::Json fit_json(const FitResult& r) {
  return {{"tau", r.tau},
          {"tau_start", r.tau_start},
          {"mse_train", r.mse_train},
          {"mse_validation", r.mse_validation},
          {"fdl_norm2", r.fdl_norm2_validation},
          {"fdl_norm2_train", r.fdl_norm2_train},
          {"seconds_per_epoch", r.seconds_per_epoch},
          {"epochs", r.epochs},
          {"forecast_seconds", r.forecast_seconds}};
}

void write_plots(const fs::path& dir, const ForecastResult& hybrid, const ForecastResult* physics,
                 int max_plots) {
  fs::create_directories(dir);
  const std::size_t n = hybrid.traces.size();
  const std::size_t count = max_plots > 0 ? std::min<std::size_t>(n, max_plots) : n;
  for (std::size_t q = 0; q < count; ++q) {
    const std::size_t i = count == n ? q : q * (n - 1) / std::max<std::size_t>(1, count - 1);
    const auto& p = hybrid.traces[i];
    std::vector<LineSeries> s{{"truth", p.t, p.truth},
                              {"APHYN-EP", p.t, p.prediction},
                              {"v0 + int F_p dt", p.t, {}},
                              {"int F_dl dt", p.t, p.fdl_integral}};
    for (double x : p.fp_integral) s[2].y.push_back(p.truth[0] + x);
    if (physics) s.push_back({"physics only", p.t, physics->traces[i].prediction});
    write_line_chart(dir / (p.name + ".png"), "APHYN-EP forecast of " + p.name + " (MSE " + sci(p.mse) + ")",
                     "time (ms)", "normalised V", s);
  }
}

struct Unit {
  std::string name;       ///< "" or ROI name
  const RoiOptions* roi;  ///< null without ROIs
};

/// Trains (and evaluates) one data unit in `dir`; returns its summary JSON.
/// Simulated tissue data are cached in `data_dir` (shared by the ROIs).
core::Json run_unit(const AphynConfig& cfg, const Unit& unit, const fs::path& dir, const fs::path& data_dir,
                    bool physics_only, bool resume) {
  const auto& d = cfg.data;
  const auto train = load_traces(d.train, d.prepare, unit.roi, data_dir, "train");
  const auto validation = load_traces(d.validation, d.prepare, unit.roi, data_dir, "validation");
  core::Json s{{"n_train", train.size()}, {"n_validation", validation.size()}};
  if (!unit.name.empty()) s["roi"] = unit.name;

  ModelOptions physics = cfg.model;
  physics.fdl = false;
  const bool do_hybrid = !physics_only && cfg.model.fdl;
  const bool do_physics = physics_only || !cfg.model.fdl || cfg.train.baseline;
  std::unique_ptr<ForecastResult> fh, fp;
  if (do_hybrid) {
    const auto r = fit(cfg.model, cfg.train, train, validation, dir / "aphyn", resume);
    s.update(fit_json(r));
    fh = std::make_unique<ForecastResult>(forecast_dir(dir / "aphyn", validation));
  }
  if (do_physics) {
    const auto r = fit(physics, cfg.train, train, validation, dir / "physics_only", resume);
    auto j = fit_json(r);
    j.erase("fdl_norm2");
    j.erase("fdl_norm2_train");
    if (do_hybrid) {
      s["physics_only"] = j;
    } else {
      s.update(j);
      s["fdl_norm2"] = 0.0;
    }
    fp = std::make_unique<ForecastResult>(forecast_dir(dir / "physics_only", validation));
  }
  if (fh) {
    write_plots(dir / "plots", *fh, fp.get(), cfg.train.max_plots);
  } else if (fp) {
    write_plots(dir / "plots", *fp, nullptr, cfg.train.max_plots);
  }
  return s;
}

std::string summary_markdown(const AphynConfig& cfg, const core::Json& units) {
  std::ostringstream md;
  md << "# APHYN-EP run\n\n" << cfg.description << "\n\n";
  md << "| unit | model | tau_in | tau_out | tau_close | MSE train | MSE validation | ‖F_dl‖² (val) | "
        "s/epoch | "
        "forecast 350 ms (s) |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [name, u] : units.items()) {
    auto row = [&](const std::string& model, const core::Json& j, bool fdl) {
      md << "| " << name << " | " << model << " | " << std::setprecision(4)
         << j["tau"]["tau_in"].get<double>() << " | " << j["tau"]["tau_out"].get<double>() << " | "
         << j["tau"]["tau_close"].get<double>() << " | " << sci(j["mse_train"]) << " | "
         << sci(j["mse_validation"]) << " | " << (fdl ? sci(j["fdl_norm2"]) : std::string("–")) << " | "
         << std::setprecision(3) << j["seconds_per_epoch"].get<double>() << " | "
         << sci(j["forecast_seconds"]) << " |\n";
    };
    const bool hybrid =
        u.contains("physics_only") || (u.contains("fdl_norm2") && u["fdl_norm2"].get<double>() > 0);
    row(hybrid ? "APHYN-EP" : "physics only", u, hybrid);
    if (u.contains("physics_only")) row("physics only", u["physics_only"], false);
    md << "| " << name << " | start | " << u["tau_start"]["tau_in"].get<double>() << " | "
       << u["tau_start"]["tau_out"].get<double>() << " | " << u["tau_start"]["tau_close"].get<double>()
       << " | | | | | |\n";
  }
  md << "\nTraces: " << units.begin()->at("n_train") << " train, " << units.begin()->at("n_validation")
     << " validation per unit. MSE of the normalised V forecast from the first measurement.\n";
  return md.str();
}

void train_command(const std::string& config, const fs::path& out, bool physics_only, bool resume,
                   int epochs) {
  auto cfg = load_aphyn_config(config);
  if (epochs >= 0) cfg.train.epochs = epochs;
  if (!resume) {
    METAEIK_CHECK(
        !fs::exists(out / "summary.json") && !fs::exists(out / "aphyn") && !fs::exists(out / "physics_only"),
        "-o: " << out.string() << " already holds a run (use --resume to continue it, or another directory)");
  }
  fs::create_directories(out);
  core::save_json_file(out / "config.json", to_json(cfg));
  core::Json units = core::Json::object();
  if (cfg.data.rois.empty()) {
    units["all"] = run_unit(cfg, {"", nullptr}, out, out / "data", physics_only, resume);
  } else {
    for (const auto& roi : cfg.data.rois)
      units[roi.name] =
          run_unit(cfg, {roi.name, &roi}, out / ("roi_" + roi.name), out / "data", physics_only, resume);
  }
  core::Json summary = cfg.data.rois.empty() ? units["all"] : core::Json{{"rois", units}};
  if (cfg.data.rois.size() == 2) {
    const auto& a = units[cfg.data.rois[0].name]["tau"]["tau_close"];
    const auto& b = units[cfg.data.rois[1].name]["tau"]["tau_close"];
    summary["tau_close_ratio"] = b.get<double>() / a.get<double>();
  }
  core::save_json_file(out / "summary.json", summary);
  const std::string md = summary_markdown(cfg, units);
  core::write_file_atomically(out / "summary.md", [&](std::ostream& os) { os << md; });
  spdlog::info("aphyn: wrote {}", (out / "summary.json").string());
}

/// Traces from --traces: a CSV file, or a tissue output directory (all nodes).
std::vector<Trace> forecast_traces(const std::string& arg, const PrepareOptions& prepare, bool noisy,
                                   double interval) {
  SourceOptions s;
  if (fs::is_directory(arg)) {
    s.tissue_dir = arg;
    s.noise = noisy ? 1 : 0;
    s.tissue.sample_interval = interval;
  } else {
    METAEIK_CHECK(fs::is_regular_file(arg), "--traces: no file or directory \"" << arg << "\"");
    s.csv = arg;
  }
  return load_traces(s, prepare, nullptr, "", "forecast");
}

void forecast_command(const fs::path& run, const std::string& traces_arg, const fs::path& out, bool noisy,
                      double interval, int max_plots) {
  const auto cfg_path = run / "config.json";
  METAEIK_CHECK(fs::is_regular_file(cfg_path),
                "-m: " << run.string() << " is not an aphyn run (no config.json)");
  const auto cfg = read_aphyn_config(core::load_json_file(cfg_path), cfg_path.string(), run);
  fs::path model = run / "aphyn";
  if (!fs::exists(model / "model.json")) model = run / "physics_only";
  METAEIK_CHECK(fs::exists(model / "model.json"),
                "-m: " << run.string()
                       << " has no trained model (aphyn/ or physics_only/; for ROI runs pass roi_<name>)");
  const auto traces = forecast_traces(traces_arg, cfg.data.prepare, noisy, interval);
  const auto f = forecast_dir(model, traces);
  core::AtomicDirectory dir(out, true);
  TraceSet pred;
  for (std::size_t i = 0; i < f.traces.size(); ++i) {
    const auto& p = f.traces[i];
    TraceSet one;
    one.time = p.t;
    one.names = {p.name + "_truth", p.name + "_prediction", p.name + "_fp_integral",
                 p.name + "_fdl_integral"};
    one.values = {p.truth, p.prediction, p.fp_integral, p.fdl_integral};
    if (pred.time.empty()) pred.time = p.t;
    if (pred.time == p.t) {
      for (std::size_t k = 0; k < 4; ++k) {
        pred.names.push_back(one.names[k]);
        pred.values.push_back(one.values[k]);
      }
    }
  }
  if (!pred.values.empty()) write_trace_csv(dir.path() / "forecast.csv", pred);
  core::Json s{{"model", model.string()},
               {"traces", f.traces.size()},
               {"mse", f.mse},
               {"fdl_norm2", f.fdl_norm2},
               {"forecast_seconds", f.forecast_seconds},
               {"tau", f.tau}};
  core::Json per = core::Json::object();
  for (const auto& p : f.traces) per[p.name] = p.mse;
  s["mse_per_trace"] = per;
  core::save_json_file(dir.path() / "summary.json", s);
  write_plots(dir.path() / "plots", f, nullptr, max_plots);
  dir.commit();
  spdlog::info("aphyn forecast: {} traces, MSE {:.3e}, {} → {}", f.traces.size(), f.mse, model.string(),
               out.string());
}

}  // namespace

void add_aphyn_command(CLI::App& app) {
  CLI::App* aphyn =
      app.add_subcommand("aphyn", "APHYN-EP: Mitchell–Schaeffer + ResNet hybrid learned from AP traces");
  aphyn->require_subcommand(1);

  struct TrainArgs {
    std::string config, output;
    bool physics_only = false, resume = false;
    int epochs = -1;
  };
  auto ta = std::make_shared<TrainArgs>();
  CLI::App* train =
      aphyn->add_subcommand("train", "Train APHYN-EP (and the physics-only baseline) from a config");
  train->add_option("-c,--config", ta->config, "APHYN config JSON (configs/aphyn/*.json)")->required();
  train->add_option("-o,--output", ta->output, "Run directory")->required();
  train->add_flag("--physics-only", ta->physics_only, "Train only the Mitchell–Schaeffer model (no F_dl)");
  train->add_flag("--resume", ta->resume, "Continue the run's models from their last.pt");
  train->add_option("--epochs", ta->epochs, "Override train.epochs");
  train->callback([ta] { train_command(ta->config, ta->output, ta->physics_only, ta->resume, ta->epochs); });

  struct ForecastArgs {
    std::string model, traces, output;
    bool noisy = false;
    double sample_interval = 0;
    int max_plots = 12;
  };
  auto fa = std::make_shared<ForecastArgs>();
  CLI::App* fc =
      aphyn->add_subcommand("forecast", "Forecast traces from their first measurement with a trained run");
  fc->add_option("-m,--model", fa->model, "Run directory of `aphyn train` (roi_<name>/ for ROI runs)")
      ->required();
  fc->add_option("--traces", fa->traces,
                 "CSV (time + one column per pixel) or a `metaeikonal tissue` output directory")
      ->required();
  fc->add_option("-o,--output", fa->output, "Output directory (forecast.csv, summary.json, plots/)")
      ->required();
  fc->add_flag("--noisy", fa->noisy, "Tissue directory: read states_noisy.bin");
  fc->add_option("--sample-interval", fa->sample_interval,
                 "Tissue directory: resample to this interval (ms)");
  fc->add_option("--max-plots", fa->max_plots, "PNGs to write (0 = one per trace)");
  fc->callback([fa] {
    forecast_command(fa->model, fa->traces, fa->output, fa->noisy, fa->sample_interval, fa->max_plots);
  });
}

}  // namespace metaeik::tools
