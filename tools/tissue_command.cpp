// `metaeikonal tissue`: monodomain tissue simulation from a JSON config → output directory.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "monodomain/tissue_run.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {
namespace {

namespace fs = std::filesystem;

/// A config path, or the name of a shipped config (configs/tissue/NAME.json, looked up relative
/// to the working directory and to the executable's repository).
fs::path resolve_tissue_config(const std::string& arg) {
  if (fs::exists(arg) || arg.find('/') != std::string::npos || fs::path(arg).has_extension()) return arg;
  std::vector<fs::path> roots{fs::current_path()};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.parent_path(); p = p.parent_path())
      roots.push_back(p);
  for (const auto& root : roots) {
    const fs::path candidate = root / "configs" / "tissue" / (arg + ".json");
    if (fs::exists(candidate)) return candidate;
  }
  METAEIK_FAIL("--config: no file \"" << arg << "\" and no shipped config configs/tissue/" << arg << ".json");
}

}  // namespace

void add_tissue_command(CLI::App& app) {
  struct Args {
    std::string config, output;
    double dx = 0, dt = 0, duration = 0;
    int threads = -1;
    std::string scheme;
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "tissue",
      "Monodomain tissue simulation on a structured grid (activation/APD maps, .vti/.pvd, binary states)");
  cmd->add_option("--config", args->config,
                  "Tissue config JSON, or a shipped config name: niederer, aphyn_slab, "
                  "aphyn_slab_validation, lstm_slab")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output directory (written atomically)")->required();
  cmd->add_option("--dx", args->dx, "Override grid.dx (and dy, dz), mm");
  cmd->add_option("--dt", args->dt, "Override time.dt, ms");
  cmd->add_option("--duration", args->duration, "Override time.duration, ms");
  cmd->add_option("--scheme", args->scheme, "Override diffusion.scheme (fd, fem or fem-svi)");
  cmd->add_option("--threads", args->threads, "OpenMP threads (0 = default)");
  cmd->add_flag("--overwrite", args->overwrite, "Replace an existing output directory");
  cmd->callback([args, cmd] {
    const fs::path path = resolve_tissue_config(args->config);
    core::Json json = core::load_json_file(path);
    METAEIK_CHECK(json.is_object(), path.string() << ": expected a JSON object");
    // Command-line overrides are applied to the JSON so that they are validated (and echoed in
    // summary.json) exactly like config values.
    if (cmd->count("--dx") > 0) {
      METAEIK_CHECK(args->dx > 0, "--dx: must be positive, got " << args->dx);
      json["grid"]["dx"] = args->dx;
      json["grid"].erase("dy");
      json["grid"].erase("dz");
    }
    if (cmd->count("--dt") > 0) json["time"]["dt"] = args->dt;
    if (cmd->count("--duration") > 0) json["time"]["duration"] = args->duration;
    if (!args->scheme.empty()) json["diffusion"]["scheme"] = args->scheme;
    if (args->threads >= 0) json["threads"] = args->threads;
    const auto cfg = monodomain::read_tissue_config(json, path.filename().string());
    const auto summary = monodomain::run_tissue(cfg, args->output, args->overwrite);
    for (const auto& p : summary.probes)
      spdlog::info("probe {:>4} ({:6.2f}, {:6.2f}, {:6.2f}) mm: activation {:8.3f} ms, APD90 {:8.2f} ms",
                   p.name, p.point[0], p.point[1], p.point[2], p.activation_time, p.apd90);
  });
}

}  // namespace metaeik::tools
