#pragma once
// Internal to eikonal/: mesh topology and per-tet geometry shared by the FIM and Dijkstra solvers,
// and the per-solve metric built from a SpeedField. Not part of the public API.

#include <array>
#include <utility>
#include <vector>

#include "eikonal/fim.hpp"

namespace metaeik::eikonal::detail {

/// One tet's Gram matrix of its edge vectors d_i = x_i − x_0 (i = 1..3) in some metric M (upper
/// triangle: d1·d1, d1·d2, d1·d3, d2·d2, d2·d3, d3·d3; mm²). 48 bytes.
struct TetGeom {
  double gram[6];
};

/// One (node, incident tet) pair of the node → tet adjacency: the tet's other three vertices (in
/// increasing local index) and 4·tet + k, k = the node's local index. 16 bytes.
struct TetEntry {
  int other[3];
  int tet_k;
};

/// Precomputed once per mesh. Internally nodes and tets are renumbered in Z-order (memory locality);
/// every array below uses the internal numbering.
struct Topology {
  int num_points = 0;
  int num_tets = 0;
  std::vector<int> node_order;                ///< internal node i is mesh node node_order[i]
  std::vector<int> node_rank;                 ///< mesh node j is internal node node_rank[j]
  std::vector<int> tet_order;                 ///< internal tet t is mesh tet tet_order[t]
  geometry::Points points;                    ///< #P×3, internal order
  std::vector<std::array<int, 4>> tet_nodes;  ///< #T vertices (internal numbering)
  std::vector<TetGeom> tets;                  ///< #T, Euclidean Gram (M = I)
  std::vector<int> tet_offsets;               ///< CSR node → incident tets, #P+1
  std::vector<TetEntry> tet_entries;          ///< per node, its incident tets
  std::vector<float> entry_height;            ///< per entry: Euclidean distance from the node to the opposite
                                              ///< face's plane (mm), rounded down
  std::vector<int> node_offsets;              ///< CSR node → edge-neighbour nodes, #P+1
  std::vector<int> node_neighbors;            ///< sorted per node
  std::vector<int> reverse_entry;             ///< for CSR entry (a → b), the entry (b → a)
  std::vector<int> tet_edges;  ///< 6 per tet: index into node_neighbors of the edge (lo → hi)
};

/// Builds the topology; throws core::Error for a mesh without tets, bad indices, non-finite
/// coordinates or degenerate (zero-volume) tets.
Topology build_topology(const geometry::TetMesh& mesh);

/// The metric of one solve: per-tet Gram (the topology's own for isotropic fields, else `own`)
/// scaled by slowness[t]² = 1 / v_t² (per-node speeds: v_t = harmonic mean of its 4 nodes).
struct TetMetric {
  const TetGeom* tets = nullptr;
  std::vector<TetGeom> own;
  std::vector<double> slowness;  ///< #T, 1 / v_t in ms/mm
  double mean_edge_time = 0.0;   ///< mean over tets of the travel time along the tet's shortest edge, ms
  double height_scale = 1.0;  ///< metric distance ≥ height_scale · Euclidean distance / v_t (1 isotropic,
                              ///< min(1, 1/transverse_ratio) anisotropic)
};

/// Validates `speed` against the topology (see build_metric). Throws core::Error.
void check_speed(const Topology& topo, const SpeedField& speed);

/// Validates `speed` against the topology (sizes, positive finite speeds, non-zero finite fibres,
/// transverse ratio) and builds the metric. Throws core::Error with a one-line message.
TetMetric build_metric(const Topology& topo, const SpeedField& speed);

/// Sources with node indices in the internal numbering (after check_sources).
std::vector<Source> internal_sources(const Topology& topo, std::vector<Source> sources);

/// Times in mesh node order from times in internal order.
Eigen::VectorXd external_times(const Topology& topo, const Eigen::VectorXd& internal);

/// Validates sources (non-empty, node in range, finite onset time). Throws core::Error.
void check_sources(const Topology& topo, const std::vector<Source>& sources);

/// Validates a batch up front: every item's speed index and sources, every referenced speed field.
/// Messages are prefixed with "batch item I: ". Throws core::Error.
void check_batch(const Topology& topo, const std::vector<SpeedField>& speeds,
                 const std::vector<BatchItem>& items);

/// Validates options (tolerance ≥ 0, max_iterations ≥ 1, threads ≥ 0). Throws core::Error.
void check_options(const FimOptions& options);

/// Threads to use for `options.threads` (0 = OpenMP default).
int resolve_threads(int threads);

/// Squared metric length of local edge (a, b) of a tet from its Gram (d_0 = 0).
inline double edge_length2(const double* g, int a, int b) {
  // Extended 4×4 Gram with row/column 0 zero.
  auto G = [g](int i, int j) -> double {
    if (i == 0 || j == 0) return 0.0;
    if (i > j) std::swap(i, j);
    static constexpr int kIdx[4][4] = {{0, 0, 0, 0}, {0, 0, 1, 2}, {0, 1, 3, 4}, {0, 2, 4, 5}};
    return g[kIdx[i][j]];
  };
  return G(a, a) - 2.0 * G(a, b) + G(b, b);
}

}  // namespace metaeik::eikonal::detail
