#pragma once
// Graphs for the meta-PINN encoders (docs/DESIGN.md, geometry → Graph tools): mesh-edge or k-NN
// graphs with Cartesian pseudo-coordinates and a graclus-style coarsening hierarchy with
// cluster-mean pooling. Plain arrays, no LibTorch; metapinn turns them into tensors.

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Directed graph: every undirected edge appears in both directions. Edge e carries a message
/// from source(e) = j to target(e) = i. Edges are sorted by (target, source).
struct Graph {
  Points points;                                                 ///< #N×3 node positions (mm)
  Eigen::Matrix<int, Eigen::Dynamic, 2, Eigen::RowMajor> edges;  ///< #E×2 (source j, target i)
  /// #E×3 Cartesian pseudo-coordinates u = (p_i − p_j)/(2·max|Δ|) + 0.5 ∈ [0,1]³, where max|Δ|
  /// is the largest |component| of p_i − p_j over all edges of this graph.
  Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> pseudo;

  int num_nodes() const { return int(points.rows()); }
  int num_edges() const { return int(edges.rows()); }
};

/// Graph of the mesh's tet edges (both directions).
Graph mesh_edge_graph(const TetMesh& mesh);

/// Symmetrised k-nearest-neighbour graph of the points (j ∈ kNN(i) or i ∈ kNN(j)).
Graph knn_graph(const Points& points, int k);

/// Builds a graph (sorted, deduplicated, both directions, pseudo-coordinates) from undirected
/// pairs; self-loops are dropped.
Graph graph_from_pairs(const Points& points, const std::vector<std::pair<int, int>>& pairs);

struct CoarseningOptions {
  int levels = 6;          ///< number of graphs in the hierarchy (the finest included), ≥ 1
  int min_nodes = 4;       ///< stop coarsening early once a level has this few nodes
  std::uint64_t seed = 0;  ///< visiting order of the matching (reproducible)
};

/// A coarsening hierarchy: levels[0] is the input graph; cluster[l][n] ∈ [0, #levels[l+1])
/// is the coarse node that fine node n of level l is pooled into. Coarse node positions are the
/// means of their members; coarse edges join clusters that had an edge between members.
struct GraphHierarchy {
  std::vector<Graph> levels;
  std::vector<Eigen::VectorXi> cluster;  ///< levels.size() − 1 entries
};

/// Graclus-style heavy-edge matching: nodes are visited in a seeded random order and each
/// unmatched node is merged with the unmatched neighbour of largest normalised-cut weight
/// w_ij·(1/d_i + 1/d_j), w_ij = exp(−|p_i − p_j|²/σ²) (σ = mean edge length), d = weighted degree.
/// Unmatched leftovers stay singletons, so each level has roughly half the nodes.
Eigen::VectorXi graclus_clusters(const Graph& graph, std::uint64_t seed, int* num_clusters);

GraphHierarchy coarsen(const Graph& graph, const CoarseningOptions& options = {});

/// Cluster-mean pooling matrix P (#coarse × #fine), P(c, n) = 1/|c| if cluster[n] = c:
/// x_coarse = P · x_fine.
Eigen::SparseMatrix<double, Eigen::RowMajor> pooling_matrix(const Eigen::VectorXi& cluster, int num_coarse);

}  // namespace metaeik::geometry
