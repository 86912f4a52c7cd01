#pragma once
// The graphs of the encoder hierarchy as spline-convolution inputs (docs/DESIGN.md, metapinn): per-edge
// degree-1 open B-spline bases over 3-D pseudo-coordinates, edge lists grouped by node and by kernel,
// and the cluster-mean pooling between levels. Computed once per geometry.

#include <torch/torch.h>

#include <vector>

#include "geometry/graph.hpp"

namespace metaeik::metapinn {

/// Per-edge degree-1 B-spline basis of one graph, precomputed once (it depends only on the
/// graph). Each edge has 2³ = 8 non-zero products of 1-D hat functions.
struct SplineBasis {
  torch::Tensor source;        ///< #E int64, j
  torch::Tensor target;        ///< #E int64, i
  torch::Tensor weight_index;  ///< #E×8 int64 in [0, kernel_size³)
  torch::Tensor basis;         ///< #E×8 basis values (sum to 1 per edge)
  torch::Tensor inv_degree;    ///< #N×1 1/|N(i)| (0 for isolated nodes)
  torch::Tensor kernel;        ///< sparse #E×K³, row e holds the 8 basis values at their kernel indices
  /// Edges grouped by target (incoming) and by source (outgoing), CSR style: the edges of node n
  /// are in_edges[in_offsets[n] .. in_offsets[n+1]) (int64; #N+1 and #E entries).
  torch::Tensor in_offsets, in_edges, out_offsets, out_edges;
  /// The E·8 (edge, corner) entries e·8 + s grouped by kernel index k_s(e), CSR style (K³+1, E·8).
  torch::Tensor kernel_offsets, kernel_entries;
  /// #E edge ids grouped by spline cell (the kernel of corner s = 0, so the same eight kernels), stable.
  torch::Tensor cell_edges;
  /// Sparse (COO, coalesced) #N × (#N·kernel_size³) operator of the whole aggregation:
  /// M[i, j·K³ + k] = Σ_{e=(j→i), s: k_s(e) = k} b_s(e) / |N(i)|, so that the neighbour term is
  /// M · (x W_k stacked per node and kernel). Built once per graph.
  torch::Tensor aggregate;
  int num_nodes = 0;
  int kernel_size = 5;
};

/// Pseudo-coordinates outside [0,1]³ are clamped.
SplineBasis spline_basis(const geometry::Graph& graph, int kernel_size = 5,
                         torch::Dtype dtype = torch::kFloat32);

/// One level of the encoder hierarchy: the basis of its graph and the pooling to the next level.
struct GraphLevel {
  SplineBasis basis;
  torch::Tensor cluster;        ///< #N int64 coarse node of each node (undefined on the last level)
  torch::Tensor cluster_count;  ///< #Nc×1 members per coarse node
  torch::Tensor pooling;        ///< sparse #Nc×#N cluster-mean matrix (geometry::pooling_matrix)
  int num_coarse = 0;
};

std::vector<GraphLevel> graph_levels(const geometry::GraphHierarchy& hierarchy, int kernel_size = 5,
                                     torch::Dtype dtype = torch::kFloat32);

/// Moves every tensor of the levels to `device` (and floating tensors to `dtype`).
std::vector<GraphLevel> to(const std::vector<GraphLevel>& levels, torch::Device device, torch::Dtype dtype);

}  // namespace metaeik::metapinn
