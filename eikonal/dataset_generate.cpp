#include "eikonal/dataset_generate.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <iomanip>
#include <regex>
#include <set>
#include <sstream>

#include "core/fs.hpp"
#include "core/parallel.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"
#include "eikonal/random_draws.hpp"
#include "geometry/labels.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::eikonal {

namespace fs = std::filesystem;
using core::Json;

namespace {

// Random streams (core::make_rng(seed, stream)): one per purpose and subject/map, so nothing
// depends on thread count or scheduling order.
constexpr std::uint64_t kStreamOrigins = 1ULL << 32;
constexpr std::uint64_t kStreamBlob = 2ULL << 32;
constexpr std::uint64_t kStreamNoise = 3ULL << 32;
// 4ULL << 32 is the generator seed stream of dataset_config.cpp.
constexpr std::uint64_t kStreamObservation = 5ULL << 32;

std::string padded(const std::string& prefix, int index, int width) {
  std::ostringstream os;
  os << prefix << std::setw(width) << std::setfill('0') << index;
  return os.str();
}

int digits(int n) {
  int d = 1;
  while (n >= 10) n /= 10, ++d;
  return d;
}

/// A geometry ready for solving: mesh with `surface`, `aha` (when available), `observed`.
geometry::TetMesh prepare_geometry(const GeometrySpec& spec, const std::string& source, int index,
                                   bool need_aha, const ObservationConfig& observation, std::uint64_t seed) {
  const std::string prefix = source + ": key 'geometries[" + std::to_string(index) + "]";
  geometry::TetMesh mesh;
  if (!spec.from_file) {
    try {
      mesh = geometry::generate_ventricle(spec.generator);
    } catch (const core::Error&) {
      throw;
    } catch (const std::exception& e) {
      // E.g. a CGAL assertion: multi-line; make it one line naming the geometry.
      std::string what = e.what();
      std::replace(what.begin(), what.end(), '\n', ' ');
      METAEIK_FAIL(prefix << ".generator': meshing geometry '" << spec.name << "' failed: " << what);
    }
  } else {
    mesh = geometry::read_mesh(spec.file);
    METAEIK_CHECK(mesh.has_point_array(spec.surface_array),
                  prefix << ".surface_array': " << spec.file.string() << " has no point array '"
                         << spec.surface_array << "'");
    Eigen::VectorXi labels = mesh.point_labels(spec.surface_array);
    for (Eigen::Index i = 0; i < labels.size(); ++i) {
      const auto it = spec.surface_map.find(labels[i]);
      if (it != spec.surface_map.end()) labels[i] = it->second;
      METAEIK_CHECK(labels[i] >= 0 && labels[i] <= 4,
                    prefix << ".surface_map': label " << labels[i] << " of node " << i
                           << " is not a surface label 0-4 (map it with surface_map)");
    }
    mesh.set_point_labels("surface", labels);
    // Every geometry carries AHA labels, whatever its scars: the segment-wise physics baseline and
    // the stratified reports need them.
    if (!mesh.has_point_array("aha")) {
      METAEIK_CHECK(
          spec.aha == "shape" || !need_aha,
          prefix << ".aha': " << spec.file.string() << " has no 'aha' array; use \"shape\" or blob scars");
      if (spec.aha == "shape")
        mesh.set_point_labels("aha", geometry::aha_segments(mesh, geometry::estimate_aha_frame(mesh)));
    }
  }
  METAEIK_CHECK(mesh.has_point_array("surface"), prefix << "': the mesh has no 'surface' labels");
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  const std::set<int> labels(observation.surface_labels.begin(), observation.surface_labels.end());
  std::vector<int> candidates;
  for (int i = 0; i < int(surface.size()); ++i)
    if (labels.count(surface[i])) candidates.push_back(i);
  std::ostringstream listed;
  for (std::size_t k = 0; k < observation.surface_labels.size(); ++k)
    listed << (k ? ", " : "") << observation.surface_labels[k];
  METAEIK_CHECK(!candidates.empty(), prefix
                                         << "': no node has a surface label in observation.surface_labels ["
                                         << listed.str() << "]");
  if (observation.fraction < 1.0) {
    const std::size_t keep =
        std::max<std::size_t>(1, std::size_t(std::llround(observation.fraction * double(candidates.size()))));
    core::Rng rng = core::make_rng(seed, kStreamObservation + std::uint64_t(index));
    candidates = detail::sample_without_replacement(candidates, keep, rng);
  }
  Eigen::VectorXi observed = Eigen::VectorXi::Zero(surface.size());
  for (int i : candidates) observed[i] = 1;
  mesh.set_point_array("observed", observed.cast<double>(), geometry::ScalarType::kUInt8);
  return mesh;
}

struct SubjectPlan {
  int index = 0;
  int geometry = 0;
  Json scar;  ///< manifest description
  Eigen::VectorXi mask;
  Eigen::VectorXd speed;
  std::vector<int> eligible;  ///< possible origins
};

}  // namespace

void generate_dataset(const DatasetConfig& config, const fs::path& dir, bool force,
                      const std::atomic<bool>* stop, const std::string& source) {
  METAEIK_CHECK(!config.geometries.empty(), source << ": key 'geometries': no geometry given");
  const auto check_stop = [&] { METAEIK_CHECK(!(stop && stop->load()), dir.string() << ": interrupted"); };
  core::Stopwatch clock;
  core::AtomicDirectory out(dir, force);

  const int num_geoms = int(config.geometries.size());
  const int subjects_per_geom =
      config.scars.kind == "aha" ? int(config.scars.aha_groups.size()) : config.scars.blob_count;
  const int num_subjects = num_geoms * subjects_per_geom;
  const int num_maps = num_subjects * config.maps_per_subject;
  const int subject_width = std::max(2, digits(num_subjects - 1));
  const int map_width = std::max(4, digits(num_maps - 1));
  const int requested = config.maps_per_subject * config.sources_per_map;
  ScarSpeedOptions speed_options;
  speed_options.healthy_speed = config.healthy_speed;
  speed_options.scar_speed = config.scar_speed;
  speed_options.border_width = config.scars.border_width;

  Json geometries = Json::array(), subjects = Json::array(), maps = Json::array();
  const int threads = config.solver.threads > 0 ? config.solver.threads : omp_get_max_threads();

  // Geometries first, in parallel (each CGAL meshing is single-threaded and seeded, so the result
  // does not depend on the thread count). The first failing geometry (by index) is reported.
  std::vector<geometry::TetMesh> meshes(num_geoms);
  std::vector<double> mesh_seconds(num_geoms, 0.0);
  {
    core::LoopErrors errors;
    core::ProgressBar mesh_bar("geometries", std::size_t(num_geoms));
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::min(threads, num_geoms))
    for (int g = 0; g < num_geoms; ++g) {
      if (stop && stop->load()) continue;
      core::Stopwatch clock;
      const auto prepare = [&] {
        errors.run(g, [&] {
          meshes[g] = prepare_geometry(config.geometries[g], source, g, config.scars.kind == "aha",
                                       config.observation, config.seed);
        });
      };
      if (config.geometries[g].from_file) {
        // VTK readers are kept to one thread at a time.
#pragma omp critical(metaeik_dataset_read)
        prepare();
      } else {
        prepare();
      }
      mesh_seconds[g] = clock.seconds();
      mesh_bar.advance();
    }
    errors.rethrow();
  }

  core::ProgressBar bar("dataset", std::size_t(num_maps));
  for (int g = 0; g < num_geoms; ++g) {
    check_stop();
    const GeometrySpec& spec = config.geometries[g];
    core::Stopwatch geometry_clock;
    geometry::TetMesh mesh = std::move(meshes[g]);
    const Eigen::VectorXi surface = mesh.point_labels("surface");
    const Eigen::VectorXi observed = mesh.point_labels("observed");

    // Subjects of this geometry: scar mask, speed field, eligible origins.
    std::vector<SubjectPlan> plans;
    for (int k = 0; k < subjects_per_geom; ++k) {
      SubjectPlan p;
      p.index = g * subjects_per_geom + k;
      p.geometry = g;
      if (config.scars.kind == "aha") {
        const auto& group = config.scars.aha_groups[k];
        p.mask = aha_scar_mask(mesh, group);
        std::ostringstream segs;
        for (std::size_t i = 0; i < group.size(); ++i) segs << (i ? "," : "") << group[i];
        METAEIK_CHECK(p.mask.sum() > 0, source << ": key 'scars.aha_groups[" << k
                                               << "]': no node of geometry '" << spec.name
                                               << "' lies in AHA segments " << segs.str());
        p.scar = Json{{"kind", "aha"}, {"segments", group}};
      } else {
        const std::uint64_t blob_seed = core::mix_seed(config.seed ^ (kStreamBlob + std::uint64_t(p.index)));
        p.mask = blob_scar_mask(mesh, config.scars.blob, blob_seed);
        p.scar = Json{{"kind", "blob"},
                      {"seed", blob_seed},
                      {"bumps", config.scars.blob.bumps},
                      {"min_radius", config.scars.blob.min_radius},
                      {"max_radius", config.scars.blob.max_radius}};
      }
      p.scar["border_width"] = config.scars.border_width;
      p.speed = scar_speed_field(mesh, p.mask, speed_options);
      for (int i = 0; i < mesh.num_points(); ++i)
        if (!p.mask[i] && p.speed[i] == config.healthy_speed &&
            (config.origins == "any" || surface[i] == geometry::kLvEndo || surface[i] == geometry::kRvEndo))
          p.eligible.push_back(i);
      METAEIK_CHECK(requested <= int(p.eligible.size()),
                    source << ": key 'maps_per_subject': " << requested << " origins requested but only "
                           << p.eligible.size() << " nodes lie outside the scar of subject " << p.index
                           << (config.origins == "endocardial" ? " on the endocardium" : ""));
      const std::string sname = padded("s", p.index, subject_width);
      mesh.set_point_array("speed_" + sname, p.speed);
      mesh.set_point_array("scar_" + sname, p.mask.cast<double>(), geometry::ScalarType::kUInt8);
      subjects.push_back(Json{{"index", p.index},
                              {"geometry", g},
                              {"scar", p.scar},
                              {"speed_array", "speed_" + sname},
                              {"scar_array", "scar_" + sname},
                              {"healthy_speed", config.healthy_speed},
                              {"scar_speed", config.scar_speed},
                              {"scar_nodes", p.mask.sum()},
                              {"eligible_origins", p.eligible.size()}});
      plans.push_back(std::move(p));
    }

    // Maps: origins drawn without replacement per subject, split by origin.
    std::vector<SpeedField> speeds;
    for (const auto& p : plans) {
      SpeedField f;
      f.location = SpeedField::Location::kNode;
      f.speed = p.speed;
      speeds.push_back(std::move(f));
    }
    std::vector<BatchItem> items;
    std::vector<int> item_map;  // global map index of each item
    for (std::size_t k = 0; k < plans.size(); ++k) {
      core::Rng rng = core::make_rng(config.seed, kStreamOrigins + std::uint64_t(plans[k].index));
      const std::vector<int> origins = detail::sample_without_replacement(plans[k].eligible, requested, rng);
      for (int m = 0; m < config.maps_per_subject; ++m) {
        BatchItem item;
        item.speed = int(k);
        for (int s = 0; s < config.sources_per_map; ++s)
          item.sources.push_back({origins[m * config.sources_per_map + s], 0.0});
        items.push_back(item);
        item_map.push_back(plans[k].index * config.maps_per_subject + m);
      }
    }

    const FimSolver solver(mesh, config.solver);
    const std::size_t chunk = std::size_t(std::max(16, 4 * threads));
    std::vector<SolveResult> results;
    for (std::size_t begin = 0; begin < items.size(); begin += chunk) {
      check_stop();
      const std::vector<BatchItem> part(items.begin() + begin,
                                        items.begin() + std::min(items.size(), begin + chunk));
      auto solved = solver.solve_batch(speeds, part);
      for (auto& s : solved) results.push_back(std::move(s));
      bar.advance(part.size());
    }
    spdlog::info("geometry {}: {} nodes, {} tets, {} observed; mesh {:.2f} s, {} solves {:.2f} s", spec.name,
                 mesh.num_points(), mesh.num_tets(), observed.sum(), mesh_seconds[g], items.size(),
                 geometry_clock.seconds());

    for (std::size_t i = 0; i < items.size(); ++i) {
      const int map = item_map[i];
      const int local = map % config.maps_per_subject;
      const SolveResult& res = results[i];
      METAEIK_CHECK(res.stats.converged, "geometry '"
                                             << spec.name << "', map " << map
                                             << ": FIM did not converge within solver.max_iterations = "
                                             << config.solver.max_iterations);
      METAEIK_CHECK(res.times.allFinite(), "geometry '"
                                               << spec.name << "', map " << map
                                               << ": some nodes were not reached (disconnected mesh?)");
      const std::string at_name = padded("at_", map, map_width);
      mesh.set_point_array(at_name, res.times);
      std::string obs_name = at_name;
      if (config.noise.enabled()) {
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (int n = 0; n < mesh.num_points(); ++n)
          if (observed[n]) lo = std::min(lo, res.times[n]), hi = std::max(hi, res.times[n]);
        const double sigma =
            config.noise.std_ms > 0 ? config.noise.std_ms : config.noise.percent_of_range / 100.0 * (hi - lo);
        core::Rng rng = core::make_rng(config.seed, kStreamNoise + std::uint64_t(map));
        Eigen::VectorXd obs = res.times;
        for (int n = 0; n < mesh.num_points(); ++n)
          if (observed[n]) obs[n] += sigma * detail::standard_normal(rng);
        obs_name = padded("obs_", map, map_width);
        mesh.set_point_array(obs_name, obs);
      }
      Json sources = Json::array();
      for (const auto& s : items[i].sources) sources.push_back(Json{{"node", s.node}, {"time", s.time}});
      const std::string split = local < config.train                ? "train"
                                : local < config.train + config.val ? "val"
                                                                    : "test";
      maps.push_back(Json{{"index", map},
                          {"subject", plans[items[i].speed].index},
                          {"sources", sources},
                          {"split", split},
                          {"at_array", at_name},
                          {"obs_array", obs_name},
                          {"max_time", res.times.maxCoeff()}});
    }

    const std::string file = spec.name + ".vtu";
    geometry::write_mesh(mesh, out.path() / file);
    geometries.push_back(Json{{"index", g},
                              {"name", spec.name},
                              {"file", file},
                              {"nodes", mesh.num_points()},
                              {"tets", mesh.num_tets()},
                              {"observed_nodes", observed.sum()},
                              {"source", spec.from_file ? spec.file.string() : std::string("generator")}});
  }
  bar.finish();

  // Maps were produced geometry by geometry, in index order; keep the manifest sorted anyway.
  std::sort(maps.begin(), maps.end(), [](const Json& a, const Json& b) { return a["index"] < b["index"]; });
  Json noise{{"std_ms", config.noise.std_ms},
             {"percent_of_range", config.noise.percent_of_range},
             {"enabled", config.noise.enabled()},
             {"applies_to", "observed nodes of obs_array"}};
  const Json manifest{{"format", "metaeikonal-dataset"},
                      {"version", 1},
                      {"seed", config.seed},
                      {"units", {{"length", "mm"}, {"time", "ms"}, {"speed", "mm/ms"}}},
                      {"config", to_json(config)},
                      {"geometries", geometries},
                      {"subjects", subjects},
                      {"maps", maps},
                      {"observation_mask", "observed"},
                      {"noise", noise}};
  core::save_json_file(out.path() / "manifest.json", manifest);
  check_stop();
  out.commit();
  spdlog::info("dataset {}: {} geometries, {} subjects, {} maps in {:.2f} s", dir.string(), num_geoms,
               num_subjects, num_maps, clock.seconds());
}

}  // namespace metaeik::eikonal
