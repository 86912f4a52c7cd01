// `metaeikonal evaluate`: personalise a trained meta-PINN to every held-out map of a dataset and
// report relative error / correlation (AT, velocity), PDE residual and personalisation time.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "eikonal/dataset.hpp"
#include "metapinn/meta_fim.hpp"
#include "metapinn/personalize.hpp"
#include "tools/commands.hpp"

namespace fs = std::filesystem;

namespace metaeik::tools {

namespace {

struct EvaluateArgs {
  std::string model, checkpoint = "best", data, output, split = "test", device = "cpu", contexts = "train";
  int k = -1;
  bool held_out = false;
  std::uint64_t seed = 1;
};

struct Metric {
  const char* key;
  const char* label;
  double metapinn::MapMetrics::*field;
};
const Metric kMetrics[] = {
    {"at_corr", "AT correlation", &metapinn::MapMetrics::at_corr},
    {"at_rel_error", "AT relative error", &metapinn::MapMetrics::at_rel_error},
    {"v_corr", "velocity correlation", &metapinn::MapMetrics::v_corr},
    {"v_rel_error", "velocity relative error", &metapinn::MapMetrics::v_rel_error},
    {"residual", "PDE residual per node", &metapinn::MapMetrics::residual},
    {"at_corr_endo", "AT correlation, endocardium", &metapinn::MapMetrics::at_corr_endo},
    {"at_corr_rest", "AT correlation, rest", &metapinn::MapMetrics::at_corr_rest},
    {"at_rel_error_endo", "AT relative error, endocardium", &metapinn::MapMetrics::at_rel_error_endo},
    {"at_rel_error_rest", "AT relative error, rest", &metapinn::MapMetrics::at_rel_error_rest},
    {"seconds", "personalisation time (s)", &metapinn::MapMetrics::seconds},
};

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand(
      "evaluate", "Evaluate a trained meta-PINN (or meta-FIM) on the held-out maps of a dataset");
  cmd->add_option("-m,--model", args->model, "Run directory written by `metaeikonal train`")->required();
  cmd->add_option("-d,--data", args->data, "Dataset directory (manifest.json)")->required();
  cmd->add_option("-k,--k", args->k, "Context maps per subject (default: the training k)");
  cmd->add_option("--split", args->split, "Split of the query maps")
      ->check(CLI::IsMember({"train", "val", "test"}));
  cmd->add_option("-o,--output", args->output, "Output directory (default RUN_DIR/eval_<split>_k<K>)");
  cmd->add_option("--seed", args->seed, "Seed of the choice of context maps");
  cmd->add_option("--contexts", args->contexts,
                  "Context maps: train (k training maps of the subject), other (k training maps of another "
                  "subject on the same geometry: the shuffled-context control), first (the subject's first k "
                  "maps; every other map is a query)")
      ->check(CLI::IsMember({"train", "other", "first"}));
  cmd->add_flag(
      "--held-out", args->held_out,
      "Evaluate only the subjects the run's training held out (train.holdout), with --contexts first");
  cmd->add_option("--device", args->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--checkpoint", args->checkpoint,
                  "Which checkpoint of the run: best (highest validation AT "
                  "correlation) or last")
      ->check(CLI::IsMember({"best", "last"}));
  cmd->callback([args] {
    // A meta-FIM run (config.json with a "fim" section) or a meta-PINN run.
    const fs::path run_config = fs::path(args->model) / "config.json";
    const bool fim =
        fs::is_regular_file(run_config) && metapinn::is_meta_fim_config(core::load_json_file(run_config));
    metapinn::LoadedModel model;
    metapinn::LoadedMetaFim fim_model;
    if (fim)
      fim_model = metapinn::load_meta_fim(args->model, args->device, args->checkpoint);
    else
      model = metapinn::load_model(args->model, args->device, args->checkpoint);
    const metapinn::TrainOptions& t = fim ? fim_model.config.train : model.config.train;
    const int epoch = fim ? fim_model.epoch : model.epoch;
    const int k = args->k > 0 ? args->k : t.k;
    METAEIK_CHECK(args->k == -1 || args->k >= 1, "--k: must be at least 1, got " << args->k);
    auto dataset = eikonal::Dataset::load(args->data);
    auto corpus = metapinn::Corpus::from_dataset(dataset);
    metapinn::EvaluateOptions eo;
    eo.k = k;
    eo.split = args->split;
    eo.seed = args->seed;
    eo.contexts = args->held_out ? "first" : args->contexts;
    if (args->held_out) {
      METAEIK_CHECK(t.holdout != "none", "--held-out: the run '" << args->model << "' held out no subjects");
      eo.subjects = metapinn::held_out_subjects(corpus, t.holdout, t.holdout_geometry);
    }
    auto rows =
        fim ? metapinn::evaluate_meta_fim(fim_model, corpus, eo) : metapinn::evaluate(model, corpus, eo);

    const std::string what = args->held_out ? "heldout" : eo.contexts == "first" ? "tasks" : args->split;
    fs::path out = args->output.empty()
                       ? fs::path(args->model) / ("eval_" + what + "_k" + std::to_string(k) +
                                                  (args->checkpoint == "best" ? "" : "_" + args->checkpoint) +
                                                  (eo.contexts == "other" ? "_other" : ""))
                       : fs::path(args->output);
    fs::create_directories(out);
    core::write_file_atomically(out / "metrics.csv", [&](std::ostream& os) {
      os << "subject,map";
      for (const auto& m : kMetrics) os << ',' << m.key;
      os << '\n';
      os.precision(8);
      for (const auto& r : rows) {
        os << r.subject << ',' << r.map;
        for (const auto& m : kMetrics) os << ',' << r.metrics.*(m.field);
        os << '\n';
      }
    });
    core::Json summary = {
        {"model", args->model}, {"data", args->data},      {"k", k},
        {"split", args->split}, {"contexts", eo.contexts}, {"held_out", args->held_out},
        {"maps", rows.size()},  {"epoch", epoch},          {"method", fim ? "meta_fim" : "meta_pinn"}};
    std::ostringstream md;
    md << "| metric (" << rows.size() << " " << what << " maps, k = " << k << ", contexts " << eo.contexts
       << ") | mean | std |\n";
    md << "|---|---|---|\n";
    for (const auto& m : kMetrics) {
      std::vector<double> v;
      for (const auto& r : rows) v.push_back(r.metrics.*(m.field));
      auto ms = metapinn::mean_std(v);
      auto num = [](double x) { return std::isfinite(x) ? core::Json(x) : core::Json(nullptr); };
      summary["metrics"][m.key] = {{"mean", num(ms.mean)}, {"std", num(ms.std)}};
      char line[160];
      std::snprintf(line, sizeof line, "| %s | %.4g | %.4g |\n", m.label, ms.mean, ms.std);
      md << line;
    }
    core::save_json_file(out / "summary.json", summary);
    core::write_file_atomically(out / "summary.md", [&](std::ostream& os) { os << md.str(); });
    std::cout << md.str();
    spdlog::info("wrote {}/metrics.csv, summary.md, summary.json", out.string());
  });
}

}  // namespace metaeik::tools
