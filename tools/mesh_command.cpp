// `metaeikonal mesh info|convert|generate`.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "geometry/gmsh_io.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/tet_mesh.hpp"
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
  for (const char* name : {"region", "physical"}) {  // openCARP region / Gmsh physical tags per tet
    const auto it = mesh.cell_data.find(name);
    if (it == mesh.cell_data.end() || it->second.components() != 1) continue;
    std::map<long, int> counts;
    for (Eigen::Index t = 0; t < it->second.rows(); ++t) ++counts[std::lround(it->second.values(t, 0))];
    for (const auto& [label, count] : counts) labels[name][std::to_string(label)] = count;
  }
  j["labels"] = labels;
  return j;
}

bool is_opencarp(const std::string& file) {
  const std::string ext = std::filesystem::path(file).extension().string();
  return ext == ".pts" || ext == ".elem" || ext == ".lon";
}

void print_summary(const std::string& file, const nlohmann::json& j) {
  std::printf("%s\n", file.c_str());
  if (is_opencarp(file))
    std::printf("  units: openCARP .pts coordinates are um, shown here in mm (x 1e-3)\n");
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
  info->add_option("files", info_files, "Mesh files (.vtu, .vtk, .msh, openCARP .pts/.elem/.lon)")
      ->required()
      ->check(CLI::ExistingFile);
  info->add_flag("--json", info_json, "Print one JSON object per file on stdout");
  info->callback([] {
    for (const auto& file : info_files) {
      const auto summary = mesh_summary(geometry::read_mesh(file));
      if (info_json) {
        auto line = summary;
        line["file"] = file;
        line["file_units"] = is_opencarp(file) ? "um" : "mm";
        std::printf("%s\n", line.dump().c_str());
      } else {
        print_summary(file, summary);
      }
    }
  });

  auto* convert = mesh->add_subcommand(
      "convert",
      "Convert between .vtu, .vtk, .msh and openCARP .pts/.elem/.lon (what the output holds is kept)");
  static std::string in_file, out_file, msh_version = "4.1";
  static bool msh_binary = false;
  convert->add_option("input", in_file, "Input mesh (.vtu, .vtk, .msh, openCARP heart.pts)")
      ->required()
      ->check(CLI::ExistingFile);
  convert
      ->add_option("output", out_file,
                   "Output mesh: .vtu/.vtk (every array), .msh (tets + 'physical' or 'region' tags), "
                   "openCARP heart.pts (writes heart.pts in um, heart.elem with 'region' or 'physical' "
                   "tags, heart.lon from the 'fiber' (+ 'sheet') array)")
      ->required();
  convert->add_option("--msh-version", msh_version, "Gmsh MSH version of a .msh output")
      ->check(CLI::IsMember({"2.2", "4.1"}))
      ->capture_default_str();
  convert->add_flag("--msh-binary", msh_binary, "Binary instead of ASCII .msh output");
  convert->callback([convert] {
    const bool msh_out = std::filesystem::path(out_file).extension() == ".msh";
    METAEIK_CHECK(msh_out || (convert->count("--msh-version") == 0 && !msh_binary),
                  "--msh-version and --msh-binary are only for a .msh output");
    const auto mesh = geometry::read_mesh(in_file);
    if (msh_out)
      geometry::write_msh(mesh, out_file, {std::stod(msh_version), msh_binary});
    else
      geometry::write_mesh(mesh, out_file);
    spdlog::info("wrote {} ({} nodes, {} tets)", out_file, mesh.num_points(), mesh.num_tets());
  });

  add_mesh_generate_command(*mesh);
}

}  // namespace metaeik::tools
