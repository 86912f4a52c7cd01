// `metaeikonal mesh info|convert|generate`.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "geometry/tet_mesh.hpp"
#include "geometry/vtk_io.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

namespace {

nlohmann::json mesh_summary(const geometry::TetMesh& mesh) {
  const Eigen::VectorXd vol = geometry::tet_volumes(mesh.points, mesh.tets);
  const Eigen::VectorXd q = geometry::tet_quality(mesh.points, mesh.tets);
  nlohmann::json j;
  j["nodes"] = mesh.num_points();
  j["tets"] = mesh.num_tets();
  j["volume_mm3"] = vol.sum();
  j["quality_min"] = q.minCoeff();
  j["quality_mean"] = q.mean();
  const Eigen::RowVector3d lo = mesh.points.colwise().minCoeff(), hi = mesh.points.colwise().maxCoeff();
  j["bounds_mm"] = {{lo[0], hi[0]}, {lo[1], hi[1]}, {lo[2], hi[2]}};
  auto arrays = [](const std::map<std::string, geometry::DataArray>& data) {
    nlohmann::json a = nlohmann::json::object();
    for (const auto& [name, arr] : data) a[name] = arr.components();
    return a;
  };
  j["point_arrays"] = arrays(mesh.point_data);
  j["cell_arrays"] = arrays(mesh.cell_data);
  nlohmann::json labels = nlohmann::json::object();
  for (const char* name : {"surface", "aha"}) {
    if (!mesh.has_point_array(name) || mesh.point_data.at(name).components() != 1) continue;
    std::map<int, int> counts;
    for (int v : mesh.point_labels(name)) ++counts[v];
    for (const auto& [label, count] : counts) labels[name][std::to_string(label)] = count;
  }
  j["labels"] = labels;
  return j;
}

void print_summary(const std::string& file, const nlohmann::json& j) {
  std::printf("%s\n", file.c_str());
  std::printf("  nodes %d, tets %d, volume %.1f mm^3\n", j["nodes"].get<int>(), j["tets"].get<int>(),
              j["volume_mm3"].get<double>());
  std::printf("  tet quality (mean ratio): min %.3f, mean %.3f\n", j["quality_min"].get<double>(),
              j["quality_mean"].get<double>());
  const auto& b = j["bounds_mm"];
  std::printf("  bounds (mm): x [%.2f, %.2f]  y [%.2f, %.2f]  z [%.2f, %.2f]\n", b[0][0].get<double>(),
              b[0][1].get<double>(), b[1][0].get<double>(), b[1][1].get<double>(), b[2][0].get<double>(),
              b[2][1].get<double>());
  for (const char* kind : {"point_arrays", "cell_arrays"}) {
    std::string line;
    for (const auto& [name, nc] : j[kind].items())
      line += " " + name + "(" + std::to_string(nc.get<int>()) + ")";
    std::printf("  %s:%s\n", kind, line.empty() ? " none" : line.c_str());
  }
  for (const auto& [name, counts] : j["labels"].items()) {
    std::string line;
    for (const auto& [label, count] : counts.items())
      line += " " + label + ":" + std::to_string(count.get<int>());
    std::printf("  %s labels:%s\n", name.c_str(), line.c_str());
  }
}

}  // namespace

void add_mesh_command(CLI::App& app) {
  auto* mesh = app.add_subcommand("mesh", "Generate, convert and inspect tetrahedral meshes");
  mesh->require_subcommand(1);

  auto* info = mesh->add_subcommand("info", "Print nodes, tets, volume, quality, arrays and label counts");
  static std::vector<std::string> info_files;
  static bool info_json = false;
  info->add_option("files", info_files, "Mesh files (.vtu, .vtk)")->required()->check(CLI::ExistingFile);
  info->add_flag("--json", info_json, "Print one JSON object per file on stdout");
  info->callback([] {
    for (const auto& file : info_files) {
      const auto summary = mesh_summary(geometry::read_mesh(file));
      if (info_json) {
        auto line = summary;
        line["file"] = file;
        std::printf("%s\n", line.dump().c_str());
      } else {
        print_summary(file, summary);
      }
    }
  });

  auto* convert = mesh->add_subcommand("convert", "Convert between .vtu and legacy .vtk (all arrays kept)");
  static std::string in_file, out_file;
  convert->add_option("input", in_file, "Input mesh (.vtu, .vtk)")->required()->check(CLI::ExistingFile);
  convert->add_option("output", out_file, "Output mesh (.vtu, .vtk)")->required();
  convert->callback([] {
    const auto mesh = geometry::read_mesh(in_file);
    geometry::write_mesh(mesh, out_file);
    spdlog::info("wrote {} ({} nodes, {} tets)", out_file, mesh.num_points(), mesh.num_tets());
  });

  add_mesh_generate_command(*mesh);
}

}  // namespace metaeik::tools
