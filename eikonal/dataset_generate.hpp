#pragma once
// Synthetic activation-map dataset generation (docs/DESIGN.md, eikonal → Datasets; paper §4.1).
//
// subjects = geometries × scars; each subject has `maps_per_subject` AT maps from random origins
// outside its scar, split by origin into train / val / test. The result is a directory with
// manifest.json and one .vtu per geometry (see eikonal/dataset.hpp and `metaeikonal dataset`).
// The defaults below are the paper's synthetic setup: 4 BiV geometries of ~2000 nodes with
// different shapes, 5 AHA-group scars each, 0.1 / 0.6 mm/ms, 20 maps per subject, 10/10 split.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "eikonal/fim.hpp"
#include "eikonal/scar.hpp"
#include "geometry/generate.hpp"

namespace metaeik::eikonal {

/// One geometry: either generated (`generator`) or read from a mesh file (`file`).
struct GeometrySpec {
  std::string name;                      ///< "" ⇒ "geom_<index>"
  bool from_file = false;                ///< true when `file` is set in the config
  geometry::GeneratorOptions generator;  ///< used when !from_file (shape defaults to "biv" here)
  std::filesystem::path file;            ///< .vtu/.vtk; relative paths are relative to the config file
  /// File meshes: point array holding surface labels, and how its values map onto our `surface`
  /// convention (0 interior, 1 LV endo, 2 RV endo, 3 epi, 4 base). Unmapped values keep their value.
  std::string surface_array = "surface";
  std::map<int, int> surface_map;
  /// File meshes without an `aha` array: compute it from the shape ("shape") or refuse ("none";
  /// only blob scars are possible then).
  std::string aha = "shape";
};

struct ScarConfig {
  std::string kind = "aha";  ///< "aha" (one subject per group) or "blob" (blob_count random blobs)
  /// AHA segment groups, one subject per group (paper / reference code).
  std::vector<std::vector<int>> aha_groups = {
      {1, 2, 7, 8}, {5, 6, 11, 12}, {3, 4, 9, 10}, {13, 14, 15, 16, 17}, {18}};
  int blob_count = 5;         ///< subjects per geometry when kind = "blob"
  BlobOptions blob;           ///< blob shape (radii in mm)
  double border_width = 0.0;  ///< mm; 0 = sharp border (scar nodes at scar_speed, others healthy)
};

struct NoiseConfig {
  double std_ms = 0.0;            ///< Gaussian noise std (ms) on observed nodes
  double percent_of_range = 0.0;  ///< or: std = percent/100 × (max − min) of the map's observed truth
  bool enabled() const { return std_ms > 0.0 || percent_of_range > 0.0; }
};

/// Which nodes are observed (the `observed` mask): nodes whose `surface` label is listed, or a
/// random fraction of them (e.g. to mimic sparse catheter points).
struct ObservationConfig {
  std::vector<int> surface_labels = {1, 2};  ///< default: LV and RV endocardium
  double fraction = 1.0;                     ///< in (0, 1]; < 1 keeps round(fraction·count) random nodes
};

struct DatasetConfig {
  std::uint64_t seed = 1;                ///< every random choice derives from this
  std::vector<GeometrySpec> geometries;  ///< default: 4 BiV shapes (default_dataset_config())
  ScarConfig scars;
  double healthy_speed = 0.6;  ///< mm/ms
  double scar_speed = 0.1;     ///< mm/ms; must be > 0 (may exceed healthy — a "fast" region)
  int maps_per_subject = 20;
  int sources_per_map = 1;  ///< simultaneous origins of one map (all at time 0)
  /// Maps per subject in each split, in manifest order: train, then val (carved from the paper's
  /// 10 training origins, for choosing settings and best.pt), then test = the rest.
  int train = 8;
  int val = 2;
  std::string origins = "any";  ///< "any" node outside the scar or only "endocardial" ones
                                ///< (surface 1 or 2)
  ObservationConfig observation;
  NoiseConfig noise;
  FimOptions solver;  ///< tolerance, max_iterations, threads
};

/// The built-in default (paper setup), also written out as configs/dataset/default.json.
DatasetConfig default_dataset_config();

/// Reads a config object (absent keys keep default_dataset_config() values; unknown keys, bad
/// types/ranges, missing mesh files → core::Error naming the key). `base_dir` resolves relative
/// mesh paths (the config file's directory).
DatasetConfig read_dataset_config(core::JsonReader& r, const std::filesystem::path& base_dir = {});
/// Loads and reads a config file.
DatasetConfig load_dataset_config(const std::filesystem::path& path);
/// The fully resolved config (every field), readable back by read_dataset_config.
core::Json to_json(const DatasetConfig& config);

/// Generates the dataset into `dir` atomically (temporary sibling directory renamed at the end).
/// Refuses an existing `dir` unless `force`. If `stop` becomes true (e.g. on SIGINT) generation
/// throws "interrupted" and leaves nothing behind. `config_source` names the config in errors.
void generate_dataset(const DatasetConfig& config, const std::filesystem::path& dir, bool force,
                      const std::atomic<bool>* stop = nullptr, const std::string& config_source = "config");

}  // namespace metaeik::eikonal
