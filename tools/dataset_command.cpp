// `metaeikonal dataset generate|info|config`: synthetic activation-map datasets.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.hpp"
#include "eikonal/dataset.hpp"
#include "eikonal/dataset_generate.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

namespace {

using core::Json;

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

/// SIGINT/SIGTERM set g_stop while alive; generation then unwinds and removes its temporary dir.
struct StopOnSignal {
  using Handler = void (*)(int);
  Handler old_int, old_term;
  StopOnSignal() {
    g_stop = false;
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
  }
  ~StopOnSignal() {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
};

struct GenerateArgs {
  std::string config;
  std::string output;
  bool force = false;
  bool print_config = false;
  std::uint64_t seed = 0;
  int threads = -1;
};

/// The config to use: the file or the built-in default, with --seed / --threads applied to the
/// JSON before it is read (so derived values such as generator seeds follow the new seed).
eikonal::DatasetConfig resolve_config(const GenerateArgs& a, bool seed_given, std::string* source) {
  Json j;
  std::filesystem::path base;
  if (a.config.empty()) {
    j = eikonal::to_json(eikonal::default_dataset_config());
    *source = "built-in default config";
  } else {
    METAEIK_CHECK(std::filesystem::is_regular_file(a.config), a.config << ": config file does not exist");
    j = core::load_json_file(a.config);
    *source = a.config;
    base = std::filesystem::path(a.config).parent_path();
  }
  if (seed_given) {
    METAEIK_CHECK(j.is_object(), *source << ": top level: expected an object");
    j["seed"] = a.seed;
  }
  if (a.threads >= 0) {
    METAEIK_CHECK(j.is_object(), *source << ": top level: expected an object");
    if (!j.contains("solver") || !j["solver"].is_object()) j["solver"] = Json::object();
    j["solver"]["threads"] = a.threads;
  }
  core::JsonReader r(j, *source);
  return eikonal::read_dataset_config(r, base);
}

Json dataset_summary(const eikonal::Dataset& ds) {
  Json geoms = Json::array();
  for (int g = 0; g < int(ds.geometries().size()); ++g) {
    const auto& geo = ds.geometries()[g];
    geoms.push_back(Json{{"index", g},
                         {"name", geo.name},
                         {"file", geo.file},
                         {"nodes", geo.nodes},
                         {"tets", geo.tets},
                         {"observed_nodes", ds.observation_mask(g).sum()},
                         {"source", geo.source},
                         {"subjects", ds.subjects_of(g)}});
  }
  Json subjects = Json::array();
  std::map<std::string, int> splits{{"train", 0}, {"val", 0}, {"test", 0}};
  for (const auto& m : ds.maps()) ++splits[m.split];
  for (int s = 0; s < int(ds.subjects().size()); ++s) {
    const auto& sub = ds.subjects()[s];
    subjects.push_back(Json{{"index", s},
                            {"geometry", sub.geometry},
                            {"scar", sub.scar},
                            {"scar_nodes", sub.scar_nodes},
                            {"healthy_speed", sub.healthy_speed},
                            {"scar_speed", sub.scar_speed},
                            {"maps", ds.maps_of(s).size()},
                            {"train", ds.maps_of(s, "train").size()},
                            {"val", ds.maps_of(s, "val").size()},
                            {"test", ds.maps_of(s, "test").size()}});
  }
  return Json{{"directory", ds.directory().string()},
              {"seed", ds.seed()},
              {"geometries", geoms},
              {"subjects", subjects},
              {"maps",
               {{"total", ds.maps().size()},
                {"train", splits["train"]},
                {"val", splits["val"]},
                {"test", splits["test"]}}},
              {"observation_mask", ds.observation_mask_array()},
              {"noise", {{"std_ms", ds.noise().std_ms}, {"percent_of_range", ds.noise().percent_of_range}}}};
}

void print_summary(const Json& j) {
  std::printf("%s (seed %llu)\n", j["directory"].get<std::string>().c_str(),
              static_cast<unsigned long long>(j["seed"].get<std::uint64_t>()));
  std::printf("  geometries: %zu\n", j["geometries"].size());
  for (const auto& g : j["geometries"])
    std::printf("    %d %-12s %-16s %6d nodes %7d tets %5d observed  subjects %zu  (%s)\n",
                g["index"].get<int>(), g["name"].get<std::string>().c_str(),
                g["file"].get<std::string>().c_str(), g["nodes"].get<int>(), g["tets"].get<int>(),
                g["observed_nodes"].get<int>(), g["subjects"].size(), g["source"].get<std::string>().c_str());
  std::printf("  subjects: %zu\n", j["subjects"].size());
  for (const auto& s : j["subjects"])
    std::printf(
        "    %3d geometry %d  scar %-20s %5d scar nodes  speed %.3g/%.3g mm/ms  maps %d (train %d, val %d, "
        "test %d)\n",
        s["index"].get<int>(), s["geometry"].get<int>(), s["scar"].get<std::string>().c_str(),
        s["scar_nodes"].get<int>(), s["scar_speed"].get<double>(), s["healthy_speed"].get<double>(),
        s["maps"].get<int>(), s["train"].get<int>(), s["val"].get<int>(), s["test"].get<int>());
  const auto& m = j["maps"];
  std::printf("  maps: %d (train %d, val %d, test %d)\n", m["total"].get<int>(), m["train"].get<int>(),
              m["val"].get<int>(), m["test"].get<int>());
  const auto& n = j["noise"];
  if (n["std_ms"].get<double>() > 0)
    std::printf("  noise: Gaussian, std %.3g ms on observed nodes\n", n["std_ms"].get<double>());
  else if (n["percent_of_range"].get<double>() > 0)
    std::printf("  noise: Gaussian, std %.3g %% of each map's observed range\n",
                n["percent_of_range"].get<double>());
  else
    std::printf("  noise: none\n");
  std::printf("  observation mask: point array '%s'\n", j["observation_mask"].get<std::string>().c_str());
}

}  // namespace

void add_dataset_command(CLI::App& app) {
  auto* dataset = app.add_subcommand("dataset", "Generate and inspect synthetic activation-map datasets");
  dataset->require_subcommand(1);

  auto gen_args = std::make_shared<GenerateArgs>();
  auto* gen = dataset->add_subcommand(
      "generate", "Generate a dataset (manifest.json + one .vtu per geometry); the paper setup by default");
  gen->add_option("-c,--config", gen_args->config, "Dataset config JSON (default: the built-in paper setup)");
  gen->add_option("-o,--output", gen_args->output, "Output directory (created atomically)")->required();
  gen->add_flag("-f,--force", gen_args->force, "Replace an existing output directory");
  auto* seed_opt = gen->add_option("--seed", gen_args->seed, "Override the config's seed");
  gen->add_option("--threads", gen_args->threads,
                  "Solver threads (0 = OpenMP default); overrides solver.threads")
      ->check(CLI::NonNegativeNumber);
  gen->callback([gen_args, seed_opt] {
    std::string source;
    const auto config = resolve_config(*gen_args, seed_opt->count() > 0, &source);
    StopOnSignal guard;
    eikonal::generate_dataset(config, gen_args->output, gen_args->force, &g_stop, source);
  });

  auto cfg_args = std::make_shared<GenerateArgs>();
  auto* cfg =
      dataset->add_subcommand("config", "Print the fully resolved config (default or --config) as JSON");
  cfg->add_option("-c,--config", cfg_args->config, "Dataset config JSON (default: the built-in paper setup)");
  auto* cfg_seed = cfg->add_option("--seed", cfg_args->seed, "Override the config's seed");
  cfg->callback([cfg_args, cfg_seed] {
    std::string source;
    const auto config = resolve_config(*cfg_args, cfg_seed->count() > 0, &source);
    std::printf("%s\n", eikonal::to_json(config).dump(2).c_str());
  });

  auto info_dir = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  auto* info =
      dataset->add_subcommand("info", "Summarise a dataset: geometries, subjects, maps per split, noise");
  info->add_option("dir", *info_dir, "Dataset directory")->required();
  info->add_flag("--json", *info_json, "Print the summary as JSON on stdout");
  info->callback([info_dir, info_json] {
    const auto ds = eikonal::Dataset::load(*info_dir);
    const Json j = dataset_summary(ds);
    if (*info_json)
      std::printf("%s\n", j.dump(2).c_str());
    else
      print_summary(j);
  });
}

}  // namespace metaeik::tools
