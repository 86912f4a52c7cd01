// `metaeikonal experiment`: the paper-style comparison (meta-PINN vs. physics-based, meta-neural
// and multi-PINN baselines, k-ablation, endocardium vs. rest) from one JSON config.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "metapinn/experiment.hpp"
#include "tools/commands.hpp"

namespace fs = std::filesystem;

namespace metaeik::tools {

namespace {
struct ExperimentArgs {
  std::string config, output, device;
  bool force = false, resume = false;
  int max_test_maps_per_subject = -1;
};
}  // namespace

void add_experiment_command(CLI::App& app) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* cmd = app.add_subcommand(
      "experiment",
      "Run the paper-style comparison: train or load the meta models, run every method on the test split, "
      "write results.csv, summary.md, fig2.png and example .vtu/.pvd files");
  cmd->add_option("-c,--config", args->config,
                  "Experiment config (JSON), e.g. configs/experiment/quick.json or paper.json")
      ->required();
  cmd->add_option("-o,--output", args->output,
                  "Output directory (refused if it exists, unless --force or --resume)")
      ->required();
  auto* force = cmd->add_flag("-f,--force", args->force,
                              "Replace an existing output directory of an earlier experiment");
  cmd->add_flag(
         "--resume", args->resume,
         "Continue an interrupted experiment in the output directory (same config and options): reuse its "
         "finished stages, continue its unfinished trainings, redo the rest")
      ->excludes(force);
  cmd->add_option("--device", args->device, "Override the config's torch device")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--max_test_maps_per_subject", args->max_test_maps_per_subject,
                  "Override the config's max_test_maps_per_subject (0 = all)");
  cmd->callback([args] {
    METAEIK_CHECK(fs::is_regular_file(args->config), "--config: '" << args->config << "' does not exist");
    auto config = metapinn::load_experiment_config(args->config);
    if (!args->device.empty()) config.device = args->device;
    if (args->max_test_maps_per_subject != -1) {
      METAEIK_CHECK(
          args->max_test_maps_per_subject >= 0,
          "--max_test_maps_per_subject: must be at least 0, got " << args->max_test_maps_per_subject);
      config.max_test_maps_per_subject = args->max_test_maps_per_subject;
    }
    metapinn::run_experiment(config, args->output, args->force, args->resume);
    std::ifstream summary(fs::path(args->output) / "summary.md");
    std::cout << summary.rdbuf();
  });
}

}  // namespace metaeik::tools
