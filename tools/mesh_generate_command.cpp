// `metaeikonal mesh generate`: CGAL Mesh_3 LV / BiV ventricles with surface and AHA labels.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "geometry/generate.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/tet_mesh.hpp"
#include "geometry/vtk_io.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

namespace {

struct GenerateArgs {
  geometry::GeneratorOptions flags;  // values given on the command line
  std::string config;
  std::string output;
  std::vector<std::pair<CLI::Option*, std::string>> options;  // flag, field name
};

std::string label_counts(const geometry::TetMesh& mesh, const std::string& name) {
  std::map<int, int> counts;
  for (int v : mesh.point_labels(name)) ++counts[v];
  std::string s;
  for (const auto& [label, count] : counts) s += " " + std::to_string(label) + ":" + std::to_string(count);
  return s;
}

void run_generate(const GenerateArgs& args) {
  METAEIK_CHECK(geometry::is_mesh_path(args.output),
                "--output: unsupported extension '" << std::filesystem::path(args.output).extension().string()
                                                    << "' of " << args.output
                                                    << " (expected .vtu, .vtk, .msh or .pts)");
  if (std::filesystem::path(args.output).extension() != ".vtu" &&
      std::filesystem::path(args.output).extension() != ".vtk")
    spdlog::warn(
        "mesh generate: {} keeps no point arrays; the 'surface' and 'aha' labels are only in "
        ".vtu/.vtk",
        args.output);

  // Defaults, then the JSON config, then flags given explicitly.
  geometry::GeneratorOptions options;
  if (!args.config.empty()) {
    const core::Json json = core::load_json_file(args.config);
    core::JsonReader reader(json, args.config);
    geometry::read_generator_options(reader, options);
    reader.finish();
  }
  // Each flag writes into args.flags; copy the ones that were given over the config values.
  geometry::for_each_generator_field([&](const char* key, auto member, const char*) {
    for (const auto& [opt, field] : args.options)
      if (field == key && opt->count() > 0) options.*member = args.flags.*member;
  });
  geometry::check_generator_options(options);

  spdlog::info("mesh generate: {} ventricle, target {} nodes, seed {}", options.shape, options.target_nodes,
               options.seed);
  core::Stopwatch clock;
  const geometry::TetMesh mesh = geometry::generate_ventricle(options);
  const double seconds = clock.seconds();
  geometry::write_mesh(mesh, args.output);

  const Eigen::VectorXd vol = geometry::tet_volumes(mesh.points, mesh.tets);
  const Eigen::VectorXd q = geometry::tet_quality(mesh.points, mesh.tets);
  spdlog::info("wrote {}: {} nodes, {} tets, generated in {:.1f} s", args.output, mesh.num_points(),
               mesh.num_tets(), seconds);
  if (options.shape == "lv") {
    const double exact = geometry::analytic_lv_wall_volume(options);
    spdlog::info("  volume {:.1f} mm^3 (analytic {:.1f}, error {:+.2f} %)", vol.sum(), exact,
                 100 * (vol.sum() / exact - 1));
  } else {
    spdlog::info("  volume {:.1f} mm^3", vol.sum());
  }
  spdlog::info("  tet quality (mean ratio): min {:.3f}, mean {:.3f}", q.minCoeff(), q.mean());
  spdlog::info("  surface labels:{}", label_counts(mesh, "surface"));
  spdlog::info("  aha labels:{}", label_counts(mesh, "aha"));
}

}  // namespace

void add_mesh_generate_command(CLI::App& mesh) {
  auto* cmd = mesh.add_subcommand(
      "generate",
      "Mesh a synthetic ventricle with CGAL Mesh_3: 'lv' = truncated ellipsoid shell (Land et al. 2015 "
      "benchmark "
      "by default), 'biv' = LV plus a crescent RV. Writes point arrays 'surface' and 'aha'.");
  static GenerateArgs args;
  // One flag per field (--key-with-dashes), from the field list; -n/--nodes are kept as short names.
  geometry::for_each_generator_field([&](const char* key, auto member, const char* help) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    flag = (flag == "target-nodes" ? "-n,--nodes,--" : "--") + flag;
    auto* opt = cmd->add_option(flag, args.flags.*member, help)->capture_default_str();
    if (std::string(key) == "shape") opt->check(CLI::IsMember({"lv", "biv"}));
    args.options.emplace_back(opt, key);
  });
  cmd->add_option("-c,--config", args.config,
                  "JSON file with the same keys as the flags (underscores); flags given override it")
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "-o,--output", args.output,
         "Output mesh (.vtu, .vtk, .msh or openCARP .pts), written atomically; only VTK keeps the labels")
      ->required();
  cmd->callback([] { run_generate(args); });
}

}  // namespace metaeik::tools
