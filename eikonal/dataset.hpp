#pragma once
// Synthetic activation-map datasets (docs/DESIGN.md, eikonal → Datasets): the loading API that the
// meta-learner, the baselines and the experiments use. A dataset is a directory with
// `manifest.json` and one `.vtu` per geometry holding labels, every subject's speed field and
// every map's activation times as named point arrays.
//
// manifest.json (format "metaeikonal-dataset", version 1) lists: seed, the full resolved
// generation config, geometries {index, name, file, nodes, tets, observed_nodes, source},
// subjects {index, geometry, scar {kind "aha" + segments | kind "blob" + seed}, speed_array,
// scar_array, healthy_speed, scar_speed, scar_nodes}, maps {index, subject, sources [{node, time}],
// split, at_array, obs_array, max_time}, observation_mask (point array name) and noise.
// Array names: speed_sNN / scar_sNN per subject, at_NNNN (truth) and obs_NNNN (noisy observation,
// only when noise is on; otherwise obs_array names the at_ array) per map. Units: mm, ms, mm/ms.

#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eikonal/fim.hpp"
#include "geometry/tet_mesh.hpp"

namespace metaeik::eikonal {

struct DatasetGeometry {
  std::string name;  ///< e.g. "biv_0"
  std::string file;  ///< .vtu file name relative to the dataset directory
  int nodes = 0;
  int tets = 0;
  int observed_nodes = 0;  ///< nodes with observation mask 1 (LV + RV endocardium)
  std::string source;      ///< "generator" or the mesh file it was read from
};

struct DatasetSubject {
  int geometry = 0;                ///< index into geometries
  std::string scar;                ///< human-readable scar description, e.g. "aha:1,2,7,8" or "blob"
  std::string speed_array;         ///< point array (mm/ms) in the geometry's .vtu
  std::string scar_array;          ///< point array (uint8, 1 = scar node) in the geometry's .vtu
  std::vector<int> scar_segments;  ///< AHA segments of an "aha" scar (empty for blobs)
  double healthy_speed = 0.6;      ///< mm/ms
  double scar_speed = 0.1;         ///< mm/ms
  int scar_nodes = 0;
};

struct DatasetMap {
  int subject = 0;              ///< index into subjects
  std::vector<Source> sources;  ///< origin node(s) and onset times
  std::string split;            ///< "train", "val" or "test"
  std::string at_array;         ///< true activation times (ms), point array in the geometry's .vtu
  /// Observed activation times (ms): truth + noise on observed nodes, truth elsewhere; the same
  /// array as at_array when the dataset has no noise. Only meaningful where the mask is 1.
  std::string obs_array;
};

/// Observation noise the dataset was generated with (Gaussian, observed nodes only).
struct DatasetNoise {
  double std_ms = 0.0;            ///< fixed std in ms, or
  double percent_of_range = 0.0;  ///< std = percent/100 × (max − min) of the map's observed truth
  bool enabled() const { return std_ms > 0.0 || percent_of_range > 0.0; }
};

class Dataset {
 public:
  /// Loads manifest.json, reads every geometry's .vtu and checks that every referenced array
  /// exists with one value per node. Errors name the file (and manifest key). After load() all
  /// accessors are read-only, so a loaded Dataset can be shared between threads.
  static Dataset load(const std::filesystem::path& dir);

  const std::filesystem::path& directory() const { return dir_; }
  const std::vector<DatasetGeometry>& geometries() const { return geometries_; }
  const std::vector<DatasetSubject>& subjects() const { return subjects_; }
  const std::vector<DatasetMap>& maps() const { return maps_; }
  /// Name of the per-geometry point array marking observed (endocardial) nodes (1/0).
  const std::string& observation_mask_array() const { return mask_array_; }

  /// The geometry's mesh with all of its arrays (read by load()).
  const geometry::TetMesh& mesh(int geometry) const;
  Eigen::VectorXd speed(int subject) const;              ///< #P mm/ms
  Eigen::VectorXd activation(int map) const;             ///< #P ms (truth)
  Eigen::VectorXd observation(int map) const;            ///< #P ms (noisy where observed)
  Eigen::VectorXi observation_mask(int geometry) const;  ///< #P 1 = observed
  /// Indices of the maps of `subject` in `split` ("" = all splits).
  std::vector<int> maps_of(int subject, const std::string& split = "") const;

  Eigen::VectorXi scar_mask(int subject) const;  ///< #P 1 = scar node
  int geometry_of_map(int map) const { return subjects_.at(maps_.at(map).subject).geometry; }
  std::uint64_t seed() const { return seed_; }
  const DatasetNoise& noise() const { return noise_; }
  /// Subject indices of `geometry`.
  std::vector<int> subjects_of(int geometry) const;

 private:
  std::filesystem::path dir_;
  std::vector<DatasetGeometry> geometries_;
  std::vector<DatasetSubject> subjects_;
  std::vector<DatasetMap> maps_;
  std::string mask_array_ = "observed";
  std::uint64_t seed_ = 0;
  DatasetNoise noise_;
  mutable std::map<int, std::shared_ptr<geometry::TetMesh>> meshes_;
};

}  // namespace metaeik::eikonal
