// `metaeikonal train`: episodic meta-training of the meta-PINN on a dataset directory.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/charts/charts.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "eikonal/dataset.hpp"
#include "metapinn/meta_fim.hpp"
#include "metapinn/trainer.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

using core::BarSeries, core::LinePanel, core::LineSeries, core::ScatterSeries, core::write_bar_chart,
    core::write_line_chart, core::write_line_chart_grid, core::write_scatter_chart;

namespace {

struct TrainArgs {
  std::string config, data, output, device = "cpu";
  bool resume = false;
  int epochs = -1;
};

/// Training curves from log.csv as a PNG (losses per epoch, log scale).
void write_curves(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "log.csv");
  std::string line;
  std::getline(in, line);
  LineSeries data{"L_data", {}, {}}, pde{"L_PDE", {}, {}}, total{"total", {}, {}};
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<std::string> cells;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (cells.size() < 6) continue;
    const double epoch = std::stod(cells[0]);
    data.x.push_back(epoch), data.y.push_back(std::stod(cells[2]));
    pde.x.push_back(epoch), pde.y.push_back(std::stod(cells[3]));
    total.x.push_back(epoch), total.y.push_back(std::stod(cells[5]));
  }
  if (data.x.size() >= 2)
    write_line_chart(run_dir / "loss.png", "meta-PINN training", "epoch", "loss", {data, pde, total}, true);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train",
                                 "Meta-train the meta-PINN (encoders + hypernetworks) on a dataset; a config "
                                 "with a \"fim\" section trains meta-FIM");
  cmd->add_option("-c,--config", args->config, "Training config JSON (e.g. configs/train/quick.json)")
      ->required();
  cmd->add_option("-d,--data", args->data, "Dataset directory (manifest.json)")->required();
  cmd->add_option("-o,--output", args->output, "Run directory (config.json, last.pt, best.pt, log.csv)")
      ->required();
  cmd->add_flag("--resume", args->resume, "Continue the run in the output directory from last.pt");
  cmd->add_option("--epochs", args->epochs, "Override train.epochs");
  cmd->add_option("--device", args->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->callback([args] {
    if (metapinn::is_meta_fim_config(
            core::load_json_file(args->config))) {  // a meta-FIM config ("fim" section)
      auto config = metapinn::load_meta_fim_config(args->config);
      if (args->epochs >= 0) config.train.epochs = args->epochs;
      core::Stopwatch watch;
      auto dataset = eikonal::Dataset::load(args->data);
      auto corpus = metapinn::Corpus::from_dataset(dataset);
      spdlog::info("training meta-FIM on {}: {} geometries, {} subjects, {} maps", args->data,
                   corpus.geometries.size(), corpus.subjects.size(), corpus.maps.size());
      metapinn::train_meta_fim(config, corpus, args->output, args->resume, args->device);
      spdlog::info("training finished in {:.1f} s; run directory {}", watch.seconds(), args->output);
      return;
    }
    auto config = metapinn::load_train_config(args->config);
    if (args->epochs >= 0) config.train.epochs = args->epochs;
    core::Stopwatch watch;
    auto dataset = eikonal::Dataset::load(args->data);
    auto corpus = metapinn::Corpus::from_dataset(dataset);
    spdlog::info("training on {}: {} geometries, {} subjects, {} maps", args->data, corpus.geometries.size(),
                 corpus.subjects.size(), corpus.maps.size());
    metapinn::train(config, corpus, args->output, args->resume, args->device);
    try {
      write_curves(args->output);
    } catch (const std::exception& e) {
      spdlog::warn("could not draw the training curves: {}", e.what());
    }
    spdlog::info("training finished in {:.1f} s; run directory {}", watch.seconds(), args->output);
  });
}

}  // namespace metaeik::tools
