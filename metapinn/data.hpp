#pragma once
// Data side of the meta-PINN: subjects and maps (from a dataset directory or built in memory),
// per-geometry preparation (graph hierarchy, scaled coordinates; computed once and cached),
// encoder features and consistent scaling.
//
// Scaling (per geometry): x' = (x − centre)/L with L the bounding-box half-diagonal (mm),
// t' = t/τ with τ = L / speed_scale (ms), hence v' = v·τ/L = v / speed_scale. In these units the
// Eikonal equation keeps its form |∇'T'|·v' = 1 and x', t', v' are all O(1).

#include <torch/torch.h>

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "geometry/tet_mesh.hpp"
#include "metapinn/spline_conv.hpp"

namespace metaeik::eikonal {
class Dataset;
}

namespace metaeik::metapinn {

struct CorpusGeometry {
  std::string name;
  geometry::Points points;   ///< #N×3 mm
  geometry::Tets tets;       ///< #T×4
  Eigen::VectorXi observed;  ///< #N 1 = observed (endocardial) node
};
struct CorpusSubject {
  int geometry = 0;
  int scar = 0;  ///< scar configuration: the subject's position among its geometry's subjects
  std::string name;
  Eigen::VectorXd speed;  ///< #N true conduction velocity (mm/ms); empty if unknown
};
struct CorpusMap {
  int subject = 0;
  int id = 0;                   ///< index in the dataset manifest (or position)
  std::string split;            ///< "train", "val" or "test"
  Eigen::VectorXd truth;        ///< #N activation times (ms) on every node
  Eigen::VectorXd observation;  ///< #N observed (possibly noisy) activation times; used where observed
};

/// Everything the trainer and the evaluation read. Tests build one in memory.
struct Corpus {
  std::vector<CorpusGeometry> geometries;
  std::vector<CorpusSubject> subjects;
  std::vector<CorpusMap> maps;
  /// Positions in `maps` of the subject's maps in `split` ("" = all), in manifest order.
  std::vector<int> maps_of(int subject, const std::string& split = "") const;
  static Corpus from_dataset(const eikonal::Dataset& dataset);
};

struct DataOptions {
  std::string graph = "knn";    ///< "knn" or "mesh" (tet edges)
  int knn = 6;                  ///< neighbours of the k-NN graph
  int levels = 6;               ///< graphs in the coarsening hierarchy (5–6 in the paper)
  double speed_scale = 0.6;     ///< v' = v / speed_scale (mm/ms)
  double early_fraction = 0.2;  ///< the source encoder sees observations ≤ min + f·(max − min)
  /// What the source encoder sees of a query: "observed" = its observed (endocardial) nodes in the
  /// earliest early_fraction of their time range (ours, what a user has); "reference" = the true
  /// times of the earliest early_fraction of ALL nodes (the reference code's input; it needs the
  /// complete map, so it is for comparisons only).
  std::string query_input = "observed";
  double feature_time = 0.0;     ///< t' that maps to feature 1 (0 = derive from the training data)
  std::uint64_t graph_seed = 0;  ///< seed of the coarsening
};

struct Scaling {
  Eigen::Vector3d centre = Eigen::Vector3d::Zero();
  double length = 1.0;  ///< L, mm
  double time = 1.0;    ///< τ, ms
};

/// One geometry ready for the model: computed once and reused by every map on it.
struct PreparedGeometry {
  Scaling scaling;
  std::vector<GraphLevel> levels;
  torch::Tensor nodes;       ///< [N, 3] x'
  torch::Tensor observed;    ///< [N] bool
  torch::Tensor tet_points;  ///< [T, 4, 3] x' of each tet's vertices
  int num_nodes = 0;
};

/// Also calls keep_freed_memory() (every training and personalisation starts here).
PreparedGeometry prepare_geometry(const geometry::Points& points, const geometry::Tets& tets,
                                  const Eigen::VectorXi& observed, const DataOptions& options,
                                  int kernel_size, torch::Device device,
                                  torch::Dtype dtype = torch::kFloat32);

/// Encoder features [N, 2]: (t'/feature_time where observed and kept, else −1; mask). With
/// early_fraction < 1 only observations ≤ min + early_fraction·(max − min) are kept.
torch::Tensor map_features(const Eigen::VectorXd& observation_ms, const Eigen::VectorXi& observed,
                           const Scaling& scaling, double feature_time, double early_fraction);

/// Subjects that a `holdout` ("none", "diagonal", "geometry"; TrainOptions) keeps out of training:
/// "diagonal" = scar configuration g on geometry g for every geometry g (every scar configuration
/// is still seen on the other geometries), "geometry" = every subject of geometry `geometry`.
std::vector<int> held_out_subjects(const Corpus& corpus, const std::string& holdout, int geometry);

/// `count` uniformly random points inside random tets (barycentric sampling) → [count, 3] x'.
torch::Tensor random_tet_points(const PreparedGeometry& geometry, int64_t count, torch::Generator generator);

/// Sets the torch intra-op threads and OpenBLAS's own pool (core::set_blas_threads).
void set_threads(int threads);

/// Lets the process keep the memory that LibTorch frees, for the next tensors (glibc: allocations up
/// to 32 MB from the heap, which is never trimmed; once per process, no-op elsewhere). By default
/// glibc maps each larger block afresh and returns it on free, so every step of a training paged in
/// its tensors again: a training episode of the quick config spent about 40 % of its time in page
/// faults (bench/results/metapinn.md). The cost: the process holds on to its peak heap.
void keep_freed_memory();

/// Largest scaled observed time over the training maps (the default feature_time).
double max_training_time(const Corpus& corpus, const DataOptions& options);

}  // namespace metaeik::metapinn
