#include "eikonal/dataset.hpp"

#include <algorithm>

#include "core/config.hpp"
#include "core/error.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::eikonal {

namespace fs = std::filesystem;
using core::Json;

namespace {

void check_point_array(const geometry::TetMesh& mesh, const std::string& name, const fs::path& file,
                       const std::string& what) {
  METAEIK_CHECK(mesh.has_point_array(name), file.string() << ": point array '" << name << "' (" << what
                                                          << ") listed in manifest.json is missing");
  METAEIK_CHECK(mesh.point_data.at(name).components() == 1,
                file.string() << ": point array '" << name << "' must have one component");
}

}  // namespace

Dataset Dataset::load(const fs::path& dir) {
  const fs::path manifest_path = dir / "manifest.json";
  METAEIK_CHECK(fs::is_directory(dir), dir.string() << ": dataset directory does not exist");
  METAEIK_CHECK(fs::is_regular_file(manifest_path), manifest_path.string()
                                                        << ": does not exist (not a dataset?)");
  const Json manifest = core::load_json_file(manifest_path);
  const std::string src = manifest_path.string();
  // Unknown keys are tolerated (later versions may add some), so no finish().
  core::JsonReader r(manifest, src);
  std::string format;
  int version = 0;
  r.require("format", format);
  METAEIK_CHECK(format == "metaeikonal-dataset",
                r.error_prefix("format") << "expected \"metaeikonal-dataset\", got \"" << format << "\"");
  r.require("version", version);
  METAEIK_CHECK(version == 1, r.error_prefix("version")
                                  << "unsupported version " << version << " (this build reads 1)");

  Dataset ds;
  ds.dir_ = dir;
  r.get("seed", ds.seed_);
  r.get("observation_mask", ds.mask_array_);
  {
    auto n = r.child("noise");
    n.get("std_ms", ds.noise_.std_ms);
    n.get("percent_of_range", ds.noise_.percent_of_range);
  }

  const auto list = [&](const std::string& key) {
    METAEIK_CHECK(manifest.contains(key) && manifest.at(key).is_array(), r.error_prefix(key)
                                                                             << "expected an array");
    return manifest.at(key);
  };
  const auto item = [&](const Json& j, const std::string& key, std::size_t i) {
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    core::JsonReader e(j, src, prefix);
    int index = int(i);
    e.get("index", index);
    METAEIK_CHECK(index == int(i), e.error_prefix("index") << "expected " << i << ", got " << index);
    return e;
  };

  const Json geoms = list("geometries");
  for (std::size_t i = 0; i < geoms.size(); ++i) {
    auto e = item(geoms[i], "geometries", i);
    DatasetGeometry g;
    e.require("name", g.name);
    e.require("file", g.file);
    e.get("nodes", g.nodes);
    e.get("tets", g.tets);
    e.get("observed_nodes", g.observed_nodes);
    e.get("source", g.source);
    ds.geometries_.push_back(g);
  }
  const Json subjects = list("subjects");
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    auto e = item(subjects[i], "subjects", i);
    DatasetSubject s;
    e.require("geometry", s.geometry);
    METAEIK_CHECK(s.geometry >= 0 && s.geometry < int(ds.geometries_.size()),
                  e.error_prefix("geometry") << "no geometry " << s.geometry);
    e.require("speed_array", s.speed_array);
    e.get("scar_array", s.scar_array);
    e.get("healthy_speed", s.healthy_speed);
    e.get("scar_speed", s.scar_speed);
    e.get("scar_nodes", s.scar_nodes);
    auto scar = e.child("scar");
    std::string kind;
    scar.get("kind", kind);
    scar.get("segments", s.scar_segments);
    s.scar = kind;
    if (!s.scar_segments.empty()) {
      s.scar += ":";
      for (std::size_t k = 0; k < s.scar_segments.size(); ++k)
        s.scar += (k ? "," : "") + std::to_string(s.scar_segments[k]);
    }
    ds.subjects_.push_back(s);
  }
  const Json maps = list("maps");
  for (std::size_t i = 0; i < maps.size(); ++i) {
    auto e = item(maps[i], "maps", i);
    DatasetMap m;
    e.require("subject", m.subject);
    METAEIK_CHECK(m.subject >= 0 && m.subject < int(ds.subjects_.size()), e.error_prefix("subject")
                                                                              << "no subject " << m.subject);
    e.require("split", m.split);
    METAEIK_CHECK(m.split == "train" || m.split == "val" || m.split == "test",
                  e.error_prefix("split") << "unknown split \"" << m.split << "\"");
    e.require("at_array", m.at_array);
    m.obs_array = m.at_array;
    e.get("obs_array", m.obs_array);
    METAEIK_CHECK(
        maps[i].contains("sources") && maps[i].at("sources").is_array() && !maps[i].at("sources").empty(),
        e.error_prefix("sources") << "expected a non-empty array");
    for (std::size_t k = 0; k < maps[i].at("sources").size(); ++k) {
      core::JsonReader sr(maps[i].at("sources")[k], src,
                          "maps[" + std::to_string(i) + "].sources[" + std::to_string(k) + "]");
      Source s;
      sr.require("node", s.node);
      sr.get("time", s.time);
      m.sources.push_back(s);
    }
    ds.maps_.push_back(m);
  }

  // Read every geometry once and check that all arrays named above are there.
  for (int g = 0; g < int(ds.geometries_.size()); ++g) {
    const fs::path file = dir / ds.geometries_[g].file;
    METAEIK_CHECK(fs::is_regular_file(file), src << ": geometry file " << file.string() << " does not exist");
    auto mesh = std::make_shared<geometry::TetMesh>(geometry::read_mesh(file));
    check_point_array(*mesh, ds.mask_array_, file, "observation mask");
    if (ds.geometries_[g].nodes == 0) ds.geometries_[g].nodes = mesh->num_points();
    if (ds.geometries_[g].tets == 0) ds.geometries_[g].tets = mesh->num_tets();
    METAEIK_CHECK(ds.geometries_[g].nodes == mesh->num_points(),
                  file.string() << ": has " << mesh->num_points() << " nodes, manifest.json says "
                                << ds.geometries_[g].nodes);
    ds.meshes_[g] = mesh;
  }
  for (const auto& s : ds.subjects_) {
    const auto& mesh = *ds.meshes_.at(s.geometry);
    const fs::path file = dir / ds.geometries_[s.geometry].file;
    check_point_array(mesh, s.speed_array, file, "speed");
    if (!s.scar_array.empty()) check_point_array(mesh, s.scar_array, file, "scar mask");
  }
  for (const auto& m : ds.maps_) {
    const int g = ds.subjects_[m.subject].geometry;
    const fs::path file = dir / ds.geometries_[g].file;
    check_point_array(*ds.meshes_.at(g), m.at_array, file, "activation times");
    check_point_array(*ds.meshes_.at(g), m.obs_array, file, "observations");
    for (const auto& s : m.sources)
      METAEIK_CHECK(s.node >= 0 && s.node < ds.geometries_[g].nodes,
                    src << ": a source node " << s.node << " is outside geometry " << ds.geometries_[g].name);
  }
  return ds;
}

const geometry::TetMesh& Dataset::mesh(int geometry) const {
  METAEIK_CHECK(geometry >= 0 && geometry < int(geometries_.size()),
                "dataset " << dir_.string() << ": no geometry " << geometry);
  auto it = meshes_.find(geometry);
  if (it == meshes_.end())
    it = meshes_
             .emplace(geometry, std::make_shared<geometry::TetMesh>(
                                    geometry::read_mesh(dir_ / geometries_[geometry].file)))
             .first;
  return *it->second;
}

Eigen::VectorXd Dataset::speed(int subject) const {
  METAEIK_CHECK(subject >= 0 && subject < int(subjects_.size()),
                "dataset " << dir_.string() << ": no subject " << subject);
  return mesh(subjects_[subject].geometry).point_scalar(subjects_[subject].speed_array);
}

Eigen::VectorXi Dataset::scar_mask(int subject) const {
  METAEIK_CHECK(subject >= 0 && subject < int(subjects_.size()),
                "dataset " << dir_.string() << ": no subject " << subject);
  const auto& s = subjects_[subject];
  if (s.scar_array.empty()) {
    // Older/foreign datasets without a mask: scar = nodes at the scar speed.
    const Eigen::VectorXd v = speed(subject);
    return (v.array() == s.scar_speed).cast<int>();
  }
  return mesh(s.geometry).point_labels(s.scar_array);
}

Eigen::VectorXd Dataset::activation(int map) const {
  METAEIK_CHECK(map >= 0 && map < int(maps_.size()), "dataset " << dir_.string() << ": no map " << map);
  return mesh(geometry_of_map(map)).point_scalar(maps_[map].at_array);
}

Eigen::VectorXd Dataset::observation(int map) const {
  METAEIK_CHECK(map >= 0 && map < int(maps_.size()), "dataset " << dir_.string() << ": no map " << map);
  return mesh(geometry_of_map(map)).point_scalar(maps_[map].obs_array);
}

Eigen::VectorXi Dataset::observation_mask(int geometry) const {
  return mesh(geometry).point_labels(mask_array_);
}

std::vector<int> Dataset::maps_of(int subject, const std::string& split) const {
  std::vector<int> out;
  for (int i = 0; i < int(maps_.size()); ++i)
    if (maps_[i].subject == subject && (split.empty() || maps_[i].split == split)) out.push_back(i);
  return out;
}

std::vector<int> Dataset::subjects_of(int geometry) const {
  std::vector<int> out;
  for (int i = 0; i < int(subjects_.size()); ++i)
    if (subjects_[i].geometry == geometry) out.push_back(i);
  return out;
}

}  // namespace metaeik::eikonal
