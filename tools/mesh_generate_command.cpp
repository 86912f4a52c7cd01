// `metaeikonal mesh generate`: CGAL Mesh_3 LV / BiV ventricles with surface and AHA labels.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "geometry/generate.hpp"
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
  const std::string ext = std::filesystem::path(args.output).extension().string();
  METAEIK_CHECK(ext == ".vtu" || ext == ".vtk", "--output: unsupported extension '"
                                                    << ext << "' of " << args.output
                                                    << " (expected .vtu or .vtk)");

  // Defaults, then the JSON config, then flags given explicitly.
  geometry::GeneratorOptions options;
  if (!args.config.empty()) {
    const core::Json json = core::load_json_file(args.config);
    core::JsonReader reader(json, args.config);
    geometry::read_generator_options(reader, options);
    reader.finish();
  }
  // Each flag writes into args.flags; copy the ones that were given over the config values.
  const geometry::GeneratorOptions& f = args.flags;
  for (const auto& [opt, field] : args.options) {
    if (opt->count() == 0) continue;
#define METAEIK_COPY_FIELD(name) \
  if (field == #name) options.name = f.name;
    METAEIK_COPY_FIELD(shape)
    METAEIK_COPY_FIELD(target_nodes)
    METAEIK_COPY_FIELD(seed)
    METAEIK_COPY_FIELD(lv_endo_short_radius)
    METAEIK_COPY_FIELD(lv_endo_long_radius)
    METAEIK_COPY_FIELD(lv_epi_short_radius)
    METAEIK_COPY_FIELD(lv_epi_long_radius)
    METAEIK_COPY_FIELD(base_z)
    METAEIK_COPY_FIELD(rv_center_x)
    METAEIK_COPY_FIELD(rv_center_z)
    METAEIK_COPY_FIELD(rv_endo_radius_x)
    METAEIK_COPY_FIELD(rv_endo_radius_y)
    METAEIK_COPY_FIELD(rv_endo_radius_z)
    METAEIK_COPY_FIELD(rv_wall_thickness)
    METAEIK_COPY_FIELD(facet_angle)
    METAEIK_COPY_FIELD(cell_radius_edge_ratio)
    METAEIK_COPY_FIELD(node_tolerance)
    METAEIK_COPY_FIELD(max_attempts)
#undef METAEIK_COPY_FIELD
  }
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
  auto& f = args.flags;
  auto add = [&](const std::string& flags, auto& field, const std::string& name, const std::string& help) {
    auto* opt = cmd->add_option(flags, field, help)->capture_default_str();
    args.options.emplace_back(opt, name);
    return opt;
  };
  add("--shape", f.shape, "shape", "lv or biv")->check(CLI::IsMember({"lv", "biv"}));
  add("-n,--nodes,--target-nodes", f.target_nodes, "target_nodes", "Target node count (>= 100)");
  add("--seed", f.seed, "seed", "Seed of the mesher (same seed => identical mesh)");
  add("--lv-endo-short-radius", f.lv_endo_short_radius, "lv_endo_short_radius", "mm");
  add("--lv-endo-long-radius", f.lv_endo_long_radius, "lv_endo_long_radius", "mm");
  add("--lv-epi-short-radius", f.lv_epi_short_radius, "lv_epi_short_radius", "mm");
  add("--lv-epi-long-radius", f.lv_epi_long_radius, "lv_epi_long_radius", "mm");
  add("--base-z", f.base_z, "base_z", "Base plane z (mm); tissue kept below it");
  add("--rv-center-x", f.rv_center_x, "rv_center_x", "biv: RV ellipsoid centre x (mm)");
  add("--rv-center-z", f.rv_center_z, "rv_center_z", "biv: RV ellipsoid centre z (mm)");
  add("--rv-endo-radius-x", f.rv_endo_radius_x, "rv_endo_radius_x", "biv: RV endocardium semi-axis x (mm)");
  add("--rv-endo-radius-y", f.rv_endo_radius_y, "rv_endo_radius_y", "biv: RV endocardium semi-axis y (mm)");
  add("--rv-endo-radius-z", f.rv_endo_radius_z, "rv_endo_radius_z", "biv: RV endocardium semi-axis z (mm)");
  add("--rv-wall-thickness", f.rv_wall_thickness, "rv_wall_thickness", "biv: RV free-wall thickness (mm)");
  add("--facet-angle", f.facet_angle, "facet_angle", "Lower bound on surface triangle angles (degrees)");
  add("--cell-radius-edge-ratio", f.cell_radius_edge_ratio, "cell_radius_edge_ratio",
      "Upper bound on tet circumradius / shortest edge");
  add("--node-tolerance", f.node_tolerance, "node_tolerance", "Accepted relative miss of the node count");
  add("--max-attempts", f.max_attempts, "max_attempts", "Meshing passes to hit the node count");
  cmd->add_option("-c,--config", args.config,
                  "JSON file with the same keys as the flags (underscores); flags given override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args.output, "Output mesh (.vtu or .vtk), written atomically")->required();
  cmd->callback([] { run_generate(args); });
}

}  // namespace metaeik::tools
