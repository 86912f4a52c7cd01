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
constexpr std::uint64_t kStreamGenerator = 4ULL << 32;
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

Json generator_to_json(const geometry::GeneratorOptions& g) {
  return Json{{"shape", g.shape},
              {"target_nodes", g.target_nodes},
              {"seed", g.seed},
              {"lv_endo_short_radius", g.lv_endo_short_radius},
              {"lv_endo_long_radius", g.lv_endo_long_radius},
              {"lv_epi_short_radius", g.lv_epi_short_radius},
              {"lv_epi_long_radius", g.lv_epi_long_radius},
              {"base_z", g.base_z},
              {"rv_center_x", g.rv_center_x},
              {"rv_center_z", g.rv_center_z},
              {"rv_endo_radius_x", g.rv_endo_radius_x},
              {"rv_endo_radius_y", g.rv_endo_radius_y},
              {"rv_endo_radius_z", g.rv_endo_radius_z},
              {"rv_wall_thickness", g.rv_wall_thickness},
              {"facet_angle", g.facet_angle},
              {"cell_radius_edge_ratio", g.cell_radius_edge_ratio},
              {"node_tolerance", g.node_tolerance},
              {"max_attempts", g.max_attempts}};
}

GeometrySpec biv_geometry(const std::string& name, std::uint64_t seed, double endo_s, double endo_l,
                          double epi_s, double epi_l, double rv_x, double rv_y, double rv_z, double rv_wall) {
  GeometrySpec g;
  g.name = name;
  g.generator.shape = "biv";
  g.generator.target_nodes = 2000;
  g.generator.seed = seed;
  g.generator.lv_endo_short_radius = endo_s;
  g.generator.lv_endo_long_radius = endo_l;
  g.generator.lv_epi_short_radius = epi_s;
  g.generator.lv_epi_long_radius = epi_l;
  g.generator.rv_endo_radius_x = rv_x;
  g.generator.rv_endo_radius_y = rv_y;
  g.generator.rv_endo_radius_z = rv_z;
  g.generator.rv_wall_thickness = rv_wall;
  return g;
}

void check_positive(core::JsonReader& r, const std::string& key, double value) {
  METAEIK_CHECK(value > 0 && std::isfinite(value), r.error_prefix(key) << "must be positive, got " << value);
}

GeometrySpec read_geometry(const Json& j, const std::string& source, int index, std::uint64_t seed,
                           const fs::path& base_dir) {
  const std::string prefix = "geometries[" + std::to_string(index) + "]";
  core::JsonReader r(j, source, prefix);
  GeometrySpec g;
  r.get("name", g.name);
  if (g.name.empty()) g.name = "geom_" + std::to_string(index);
  METAEIK_CHECK(std::regex_match(g.name, std::regex("[A-Za-z0-9_.-]+")),
                r.error_prefix("name")
                    << "\"" << g.name << "\" must consist of letters, digits, '_', '-', '.'");
  const bool has_file = r.has("file"), has_gen = r.has("generator");
  METAEIK_CHECK(has_file != has_gen,
                source << ": key '" << prefix << "': give exactly one of 'generator' and 'file'");
  if (has_gen) {
    auto gr = r.child("generator");
    g.generator.shape = "biv";
    g.generator.seed = core::mix_seed(seed ^ (kStreamGenerator + std::uint64_t(index)));
    geometry::read_generator_options(gr, g.generator);
    gr.finish();
  } else {
    g.from_file = true;
    std::string file;
    r.get("file", file);
    g.file =
        (file.empty() || fs::path(file).is_absolute() || base_dir.empty()) ? fs::path(file) : base_dir / file;
    g.file = g.file.lexically_normal();
    METAEIK_CHECK(fs::is_regular_file(g.file), r.error_prefix("file")
                                                   << g.file.string() << " does not exist");
    r.get("surface_array", g.surface_array);
    if (r.has("surface_map")) {
      const Json& m = r.json().at("surface_map");
      METAEIK_CHECK(m.is_object(), r.error_prefix("surface_map")
                                       << "expected an object {\"file label\": our label}, got "
                                       << core::json_type_name(m));
      auto mr = r.child("surface_map");
      for (const auto& item : m.items()) {
        int from = 0, to = 0;
        try {
          std::size_t pos = 0;
          from = std::stoi(item.key(), &pos);
          METAEIK_CHECK(pos == item.key().size(), "");
        } catch (...) {
          METAEIK_FAIL(mr.error_prefix(item.key()) << "file label must be an integer");
        }
        mr.get(item.key(), to, 0, 4);
        g.surface_map[from] = to;
      }
    }
    r.get_choice("aha", g.aha, {"shape", "none"});
  }
  r.finish();
  return g;
}

Json geometry_to_json(const GeometrySpec& g) {
  Json j{{"name", g.name}};
  if (!g.from_file) {
    j["generator"] = generator_to_json(g.generator);
  } else {
    j["file"] = g.file.string();
    j["surface_array"] = g.surface_array;
    Json m = Json::object();
    for (const auto& [from, to] : g.surface_map) m[std::to_string(from)] = to;
    j["surface_map"] = m;
    j["aha"] = g.aha;
  }
  return j;
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
      METAEIK_CHECK(spec.aha == "shape" || !need_aha, prefix << ".aha': " << spec.file.string()
                                                             << " has no 'aha' array; use \"shape\" or blob scars");
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

DatasetConfig default_dataset_config() {
  DatasetConfig c;
  // Four BiV shapes: reference (Land et al. LV + RV), larger/dilated, smaller/thinner RV,
  // elongated with a thick RV wall. All ~2000 nodes.
  c.geometries = {
      biv_geometry("biv_0", 11, 7.0, 17.0, 10.0, 20.0, 12.0, 11.0, 15.0, 3.0),
      biv_geometry("biv_1", 12, 8.0, 18.0, 11.0, 21.0, 13.0, 12.0, 16.0, 3.0),
      biv_geometry("biv_2", 13, 6.5, 16.0, 9.5, 19.0, 11.0, 10.0, 14.0, 2.5),
      biv_geometry("biv_3", 14, 7.0, 19.0, 10.5, 22.5, 12.5, 11.5, 17.0, 3.5),
  };
  return c;
}

DatasetConfig read_dataset_config(core::JsonReader& r, const fs::path& base_dir) {
  const std::string source = [&] {
    // The reader's error prefix is "<source>: key '<path>': "; recover <source> for our messages.
    const std::string p = r.error_prefix("");
    return p.substr(0, p.rfind(": key '"));
  }();
  DatasetConfig c = default_dataset_config();
  r.get("seed", c.seed);
  if (r.has("geometries")) {
    Json list;
    r.get("geometries", list);
    METAEIK_CHECK(list.is_array() && !list.empty(), r.error_prefix("geometries")
                                                        << "expected a non-empty array, got "
                                                        << core::json_type_name(list));
    c.geometries.clear();
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      c.geometries.push_back(read_geometry(list[i], source, int(i), c.seed, base_dir));
      METAEIK_CHECK(names.insert(c.geometries.back().name).second,
                    source << ": key 'geometries[" << i << "].name': \"" << c.geometries.back().name
                           << "\" is used twice");
    }
  }
  {
    auto s = r.child("scars");
    s.get_choice("kind", c.scars.kind, {"aha", "blob"});
    if (s.has("aha_groups")) {
      s.get("aha_groups", c.scars.aha_groups);
      METAEIK_CHECK(!c.scars.aha_groups.empty(), s.error_prefix("aha_groups") << "must not be empty");
      for (std::size_t i = 0; i < c.scars.aha_groups.size(); ++i) {
        METAEIK_CHECK(!c.scars.aha_groups[i].empty(), s.error_prefix("aha_groups[" + std::to_string(i) + "]")
                                                          << "must not be empty");
        for (int seg : c.scars.aha_groups[i])
          METAEIK_CHECK(seg >= 1 && seg <= 18, s.error_prefix("aha_groups[" + std::to_string(i) + "]")
                                                   << "segment " << seg << " is not an AHA segment 1-18");
      }
    }
    s.get("blob_count", c.scars.blob_count, 1, 1000);
    auto b = s.child("blob");
    b.get("bumps", c.scars.blob.bumps, 1, 100);
    b.get("min_radius", c.scars.blob.min_radius);
    b.get("max_radius", c.scars.blob.max_radius);
    check_positive(b, "min_radius", c.scars.blob.min_radius);
    METAEIK_CHECK(c.scars.blob.max_radius >= c.scars.blob.min_radius,
                  b.error_prefix("max_radius") << c.scars.blob.max_radius << " is smaller than min_radius "
                                               << c.scars.blob.min_radius);
    b.finish();
    s.get("border_width", c.scars.border_width);
    METAEIK_CHECK(c.scars.border_width >= 0 && std::isfinite(c.scars.border_width),
                  s.error_prefix("border_width") << "must be >= 0, got " << c.scars.border_width);
    s.finish();
  }
  r.get("healthy_speed", c.healthy_speed);
  check_positive(r, "healthy_speed", c.healthy_speed);
  r.get("scar_speed", c.scar_speed);
  check_positive(r, "scar_speed", c.scar_speed);
  r.get("maps_per_subject", c.maps_per_subject, 1, 1000000);
  r.get("sources_per_map", c.sources_per_map, 1, 1000);
  {
    auto s = r.child("split");
    s.get("train", c.train, 0, c.maps_per_subject);
    s.get("val", c.val, 0, c.maps_per_subject);
    METAEIK_CHECK(c.train + c.val <= c.maps_per_subject,
                  s.error_prefix("val") << "train " << c.train << " + val " << c.val
                                        << " exceeds maps_per_subject " << c.maps_per_subject);
    int test = c.maps_per_subject - c.train - c.val;
    if (s.has("test")) {
      s.get("test", test);
      METAEIK_CHECK(c.train + c.val + test == c.maps_per_subject,
                    s.error_prefix("test") << "train " << c.train << " + val " << c.val << " + test " << test
                                           << " must equal maps_per_subject " << c.maps_per_subject);
    }
    s.finish();
  }
  r.get_choice("origins", c.origins, {"any", "endocardial"});
  {
    auto o = r.child("observation");
    o.get("surface_labels", c.observation.surface_labels);
    METAEIK_CHECK(!c.observation.surface_labels.empty(), o.error_prefix("surface_labels")
                                                             << "must not be empty");
    for (int l : c.observation.surface_labels)
      METAEIK_CHECK(l >= 0 && l <= 4, o.error_prefix("surface_labels")
                                          << "label " << l << " is not a surface label 0-4");
    o.get("fraction", c.observation.fraction);
    METAEIK_CHECK(c.observation.fraction > 0 && c.observation.fraction <= 1,
                  o.error_prefix("fraction") << "must be in (0, 1], got " << c.observation.fraction);
    o.finish();
  }
  {
    auto n = r.child("noise");
    n.get("std_ms", c.noise.std_ms);
    METAEIK_CHECK(c.noise.std_ms >= 0 && std::isfinite(c.noise.std_ms),
                  n.error_prefix("std_ms") << "must be >= 0, got " << c.noise.std_ms);
    n.get("percent_of_range", c.noise.percent_of_range);
    METAEIK_CHECK(c.noise.percent_of_range >= 0 && c.noise.percent_of_range <= 100,
                  n.error_prefix("percent_of_range")
                      << "must be in [0, 100], got " << c.noise.percent_of_range);
    METAEIK_CHECK(!(c.noise.std_ms > 0 && c.noise.percent_of_range > 0),
                  n.error_prefix("percent_of_range") << "give either std_ms or percent_of_range, not both");
    n.finish();
  }
  {
    auto s = r.child("solver");
    s.get("tolerance", c.solver.tolerance);
    check_positive(s, "tolerance", c.solver.tolerance);
    s.get("max_iterations", c.solver.max_iterations, 1, 1000000000);
    s.get("threads", c.solver.threads, 0, 4096);
    s.finish();
  }
  r.finish();
  return c;
}

DatasetConfig load_dataset_config(const fs::path& path) {
  METAEIK_CHECK(fs::is_regular_file(path), path.string() << ": config file does not exist");
  const Json j = core::load_json_file(path);
  core::JsonReader r(j, path.string());
  return read_dataset_config(r, path.parent_path());
}

Json to_json(const DatasetConfig& c) {
  Json geoms = Json::array();
  for (const auto& g : c.geometries) geoms.push_back(geometry_to_json(g));
  return Json{{"seed", c.seed},
              {"geometries", geoms},
              {"scars",
               {{"kind", c.scars.kind},
                {"aha_groups", c.scars.aha_groups},
                {"blob_count", c.scars.blob_count},
                {"blob",
                 {{"bumps", c.scars.blob.bumps},
                  {"min_radius", c.scars.blob.min_radius},
                  {"max_radius", c.scars.blob.max_radius}}},
                {"border_width", c.scars.border_width}}},
              {"healthy_speed", c.healthy_speed},
              {"scar_speed", c.scar_speed},
              {"maps_per_subject", c.maps_per_subject},
              {"sources_per_map", c.sources_per_map},
              {"split", {{"train", c.train}, {"val", c.val}, {"test", c.maps_per_subject - c.train - c.val}}},
              {"origins", c.origins},
              {"observation",
               {{"surface_labels", c.observation.surface_labels}, {"fraction", c.observation.fraction}}},
              {"noise", {{"std_ms", c.noise.std_ms}, {"percent_of_range", c.noise.percent_of_range}}},
              {"solver",
               {{"tolerance", c.solver.tolerance},
                {"max_iterations", c.solver.max_iterations},
                {"threads", c.solver.threads}}}};
}

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
    std::vector<std::exception_ptr> errors(num_geoms);
    core::ProgressBar mesh_bar("geometries", std::size_t(num_geoms));
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::min(threads, num_geoms))
    for (int g = 0; g < num_geoms; ++g) {
      if (stop && stop->load()) continue;
      core::Stopwatch clock;
      const auto prepare = [&] {
        // Exceptions must not leave an OpenMP block: keep the first one per geometry.
        try {
          meshes[g] = prepare_geometry(config.geometries[g], source, g, config.scars.kind == "aha",
                                       config.observation, config.seed);
        } catch (...) {
          errors[g] = std::current_exception();
        }
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
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
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
