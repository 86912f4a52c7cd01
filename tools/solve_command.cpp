// `metaeikonal solve`: one Eikonal solve (FIM or Dijkstra) on a mesh file → VTU with the AT map.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "eikonal/dijkstra.hpp"
#include "eikonal/fim.hpp"
#include "geometry/fibres.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/opencarp_io.hpp"
#include "geometry/tet_mesh.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

namespace {

struct SolveArgs {
  std::string mesh, output, speed_array, fibers, method = "fim";
  double speed = 0.0, speed_fiber = 0.0, speed_sheet = 0.0;
  std::vector<std::string> sources, source_vtx;
  eikonal::FimOptions options;
  bool json = false;
  bool has_speed = false, has_speed_fiber = false, has_speed_sheet = false;
};

eikonal::Source parse_source(const std::string& text) {
  const std::string bad = "--source '" + text + "': expected NODE or NODE:T0 (node index, onset time in ms)";
  const auto colon = text.find(':');
  const std::string node_text = text.substr(0, colon);
  eikonal::Source s;
  try {
    size_t used = 0;
    s.node = std::stoi(node_text, &used);
    METAEIK_CHECK(used == node_text.size(), bad);
    if (colon != std::string::npos) {
      const std::string time_text = text.substr(colon + 1);
      s.time = std::stod(time_text, &used);
      METAEIK_CHECK(used == time_text.size(), bad);
    }
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
    METAEIK_FAIL(bad);
  }
  METAEIK_CHECK(std::isfinite(s.time), bad);
  return s;
}

/// A scalar (1-component) or vector array by name: point data first, then cell data.
const geometry::DataArray& find_array(const geometry::TetMesh& mesh, const std::string& file,
                                      const std::string& name, bool& per_point) {
  if (auto it = mesh.point_data.find(name); it != mesh.point_data.end()) {
    per_point = true;
    return it->second;
  }
  if (auto it = mesh.cell_data.find(name); it != mesh.cell_data.end()) {
    per_point = false;
    return it->second;
  }
  METAEIK_FAIL(file << ": no point or cell array '" << name << "'");
}

/// Fibres per tet from a 3-component point or cell array; point fibres are averaged per tet
/// (geometry::tet_fibres). `lon` names the openCARP .lon fibres (the cell array `fiber`) unless the
/// mesh has an array called `lon`.
geometry::Points tet_fibres(const geometry::TetMesh& mesh, const std::string& file, std::string name) {
  if (name == "lon" && !mesh.point_data.count("lon") && !mesh.cell_data.count("lon")) {
    METAEIK_CHECK(mesh.cell_data.count("fiber"),
                  file << ": --fibers lon: the mesh has no .lon fibres (cell array 'fiber'; is "
                       << geometry::opencarp_base(file).string() << ".lon missing?)");
    name = "fiber";
  }
  bool per_point = false;
  const auto& a = find_array(mesh, file, name, per_point);
  METAEIK_CHECK(a.components() == 3,
                file << ": fibre array '" << name << "' has " << a.components() << " components, expected 3");
  if (!per_point) return a.values;
  return geometry::tet_fibres(mesh, a.values, file + ": fibre array '" + name + "'");
}

/// Sources from `FILE.vtx[:T0]`: every node of an openCARP vertex list, with onset T0 (ms, default 0).
std::vector<eikonal::Source> vtx_sources(const std::string& text, int num_points) {
  std::string file = text;
  double onset = 0.0;
  if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    const std::string time_text = text.substr(colon + 1);
    try {
      size_t used = 0;
      const double t = std::stod(time_text, &used);
      if (used == time_text.size()) {
        METAEIK_CHECK(std::isfinite(t), "--source-vtx '" << text << "': onset time must be finite");
        file = text.substr(0, colon);
        onset = t;
      }
    } catch (const std::logic_error&) {  // not a number: the colon is part of the file name
    }
  }
  const geometry::VertexList list = geometry::read_vtx(file, num_points);
  METAEIK_CHECK(!list.nodes.empty(), file << ": the vertex list has no nodes");
  std::set<int> seen;
  std::vector<eikonal::Source> sources;
  for (int node : list.nodes)
    if (seen.insert(node).second) sources.push_back({node, onset});
  spdlog::info("{}: {} source nodes ({}) at {} ms", file, sources.size(), list.domain, onset);
  return sources;
}

void run_solve(const SolveArgs& args) {
  const int modes = int(args.has_speed) + int(!args.speed_array.empty()) + int(!args.fibers.empty());
  METAEIK_CHECK(
      modes == 1,
      "give exactly one of --speed, --speed-array or --fibers (with --speed-fiber and --speed-sheet)");
  if (!args.fibers.empty())
    METAEIK_CHECK(args.has_speed_fiber && args.has_speed_sheet,
                  "--fibers needs --speed-fiber and --speed-sheet");
  else
    METAEIK_CHECK(!args.has_speed_fiber && !args.has_speed_sheet,
                  "--speed-fiber and --speed-sheet are only used with --fibers");
  METAEIK_CHECK(!args.sources.empty() || !args.source_vtx.empty(), "give --source or --source-vtx (or both)");
  const std::string out_ext = std::filesystem::path(args.output).extension().string();
  METAEIK_CHECK(
      out_ext == ".vtu" || out_ext == ".vtk",
      "--output " << args.output << ": expected .vtu or .vtk (the formats that keep activation_time)");
  std::vector<eikonal::Source> sources;
  for (const auto& s : args.sources) sources.push_back(parse_source(s));

  geometry::TetMesh mesh = geometry::read_mesh(args.mesh);
  for (const auto& v : args.source_vtx) {
    const auto more = vtx_sources(v, mesh.num_points());
    sources.insert(sources.end(), more.begin(), more.end());
  }

  eikonal::SpeedField speed;
  bool speed_per_point = true;
  if (args.has_speed) {
    METAEIK_CHECK(std::isfinite(args.speed) && args.speed > 0,
                  "--speed must be a positive number (mm/ms), got " << args.speed);
    speed = eikonal::SpeedField::uniform(mesh, args.speed);
  } else if (!args.speed_array.empty()) {
    const auto& a = find_array(mesh, args.mesh, args.speed_array, speed_per_point);
    METAEIK_CHECK(a.components() == 1, args.mesh << ": speed array '" << args.speed_array << "' has "
                                                 << a.components() << " components, expected 1");
    speed.location =
        speed_per_point ? eikonal::SpeedField::Location::kNode : eikonal::SpeedField::Location::kTet;
    speed.speed = a.values.col(0);
  } else {
    METAEIK_CHECK(std::isfinite(args.speed_fiber) && args.speed_fiber > 0,
                  "--speed-fiber must be a positive number (mm/ms), got " << args.speed_fiber);
    METAEIK_CHECK(std::isfinite(args.speed_sheet) && args.speed_sheet > 0,
                  "--speed-sheet must be a positive number (mm/ms), got " << args.speed_sheet);
    speed = eikonal::SpeedField::uniform(mesh, args.speed_fiber);
    speed.fibers = tet_fibres(mesh, args.mesh, args.fibers);
    speed.transverse_ratio = args.speed_sheet / args.speed_fiber;
  }

  eikonal::SolveResult result;
  core::Stopwatch setup;
  double setup_seconds = 0.0, solve_seconds = 0.0;
  if (args.method == "fim") {
    const eikonal::FimSolver solver(mesh, args.options);
    setup_seconds = setup.seconds();
    core::Stopwatch watch;
    result = solver.solve(speed, sources);
    solve_seconds = watch.seconds();
  } else {
    const eikonal::DijkstraSolver solver(mesh, args.options);
    setup_seconds = setup.seconds();
    core::Stopwatch watch;
    result = solver.solve(speed, sources);
    solve_seconds = watch.seconds();
  }
  const Eigen::VectorXd& T = result.times;
  double max_time = 0.0;
  int unreached = 0;
  for (int i = 0; i < T.size(); ++i) {
    if (std::isfinite(T[i]))
      max_time = std::max(max_time, T[i]);
    else
      ++unreached;
  }
  if (!result.stats.converged)
    spdlog::warn("FIM stopped after {} iterations without converging (raise --max-iterations)",
                 result.stats.iterations);
  if (unreached > 0)
    spdlog::warn("{} nodes are not connected to any source (activation_time = inf)", unreached);
  spdlog::info("{}: {} nodes, {} tets, {} in {:.3f} s ({} iterations, {} local updates), max AT {:.2f} ms",
               args.mesh, mesh.num_points(), mesh.num_tets(), args.method, solve_seconds,
               result.stats.iterations, result.stats.local_updates, max_time);

  mesh.set_point_array("activation_time", T);
  if (speed.location == eikonal::SpeedField::Location::kNode)
    mesh.set_point_array("speed", speed.speed);
  else
    mesh.set_cell_array("speed", speed.speed);
  if (!args.fibers.empty())
    mesh.set_cell_array("speed_sheet", Eigen::VectorXd::Constant(mesh.num_tets(), args.speed_sheet));
  geometry::write_mesh(mesh, args.output);

  if (args.json) {
    nlohmann::json j;
    j["mesh"] = args.mesh;
    j["output"] = args.output;
    j["method"] = args.method;
    j["nodes"] = mesh.num_points();
    j["tets"] = mesh.num_tets();
    j["setup_seconds"] = setup_seconds;
    j["solve_seconds"] = solve_seconds;
    j["iterations"] = result.stats.iterations;
    j["local_updates"] = result.stats.local_updates;
    j["node_updates"] = result.stats.node_updates;
    j["converged"] = result.stats.converged;
    j["max_time"] = max_time;
    j["unreached"] = unreached;
    std::printf("%s\n", j.dump().c_str());
  }
}

}  // namespace

void add_solve_command(CLI::App& app) {
  static SolveArgs args;
  auto* cmd = app.add_subcommand(
      "solve", "One Eikonal solve (FIM or Dijkstra) on a mesh → VTU with activation_time (ms)");
  cmd->add_option("mesh", args.mesh,
                  "Mesh file: .vtu, .vtk, .msh or openCARP heart.pts (with heart.elem, optional heart.lon; "
                  "µm, read as mm)")
      ->required();
  cmd->add_option("--speed", args.speed, "Uniform isotropic conduction velocity (mm/ms)");
  cmd->add_option("--speed-array", args.speed_array,
                  "Point (per node) or cell (per tet) array with the speed (mm/ms)");
  cmd->add_option("--fibers", args.fibers,
                  "Point or cell array with fibre directions (3 components); 'lon' = the openCARP .lon "
                  "fibres (the cell array 'fiber' of an openCARP mesh)");
  cmd->add_option("--speed-fiber", args.speed_fiber, "Speed along the fibres (mm/ms), with --fibers");
  cmd->add_option("--speed-sheet", args.speed_sheet, "Speed across the fibres (mm/ms), with --fibers");
  cmd->add_option("--source", args.sources,
                  "Source node with optional onset time: NODE[:T0] (ms); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--source-vtx", args.source_vtx,
                  "Source nodes from an openCARP vertex list: FILE.vtx[:T0] (every node, onset T0 ms, "
                  "default 0); repeatable, combines with --source")
      ->allow_extra_args(false);
  cmd->add_option("--method", args.method, "fim (default) or dijkstra (mesh-edge shortest paths)")
      ->check(CLI::IsMember({"fim", "dijkstra"}));
  cmd->add_option("-o,--output", args.output, "Output mesh (.vtu or .vtk) with activation_time and speed")
      ->required();
  cmd->add_option("--tolerance", args.options.tolerance, "FIM convergence tolerance (ms)")
      ->capture_default_str();
  cmd->add_option("--max-iterations", args.options.max_iterations, "FIM iteration cap")
      ->capture_default_str();
  cmd->add_option("--threads", args.options.threads, "OpenMP threads (0 = default)")->capture_default_str();
  cmd->add_option(
         "--band", args.options.band,
         "FIM active band (ms): update only active nodes within this of the earliest; <0 automatic, 0 off")
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "Print one JSON line with timings and statistics on stdout");
  cmd->callback([cmd] {
    args.has_speed = cmd->count("--speed") > 0;
    args.has_speed_fiber = cmd->count("--speed-fiber") > 0;
    args.has_speed_sheet = cmd->count("--speed-sheet") > 0;
    run_solve(args);
  });
}

}  // namespace metaeik::tools
