#pragma once
// Spline-based graph convolution (Fey et al. 2018, SplineCNN) on the graph hierarchy of
// geometry/graph.hpp: open B-spline basis of degree 1, kernel_size^3 weight matrices over 3-D
// Cartesian pseudo-coordinates, root weight, bias, mean aggregation.
//
//   out_i = 1/|N(i)| Σ_{j∈N(i)} Σ_{s<8} b_s(u_ij) · x_j W_{k_s(u_ij)}  +  x_i W_root  +  bias

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

namespace functional {

/// Evaluation orders of spline_conv (identical results up to rounding).
enum class SplinePath {
  /// Per-edge interpolated weights W_e = Σ_s b_s W_{k_s}, then the mean of the messages x_j W_e
  /// over each node's incoming edges by a fused loop over the edges (CPU; ~|E|·in·out multiply-adds
  /// per map, one pass over W_e whatever the batch); on other devices, kGather.
  kEdgeMessages,
  /// The same messages with gather / batched matmul / index_add tensor operations (any device).
  kGather,
  /// x·W_k for every node and all K³ kernels, then the sparse aggregation operator (K³·N·in·out:
  /// far more work, but a single large product).
  kAggregate,
};

/// @param x       [B, N, in] (or [N, in]) node features
/// @param weight  [kernel_size³, in, out]; root [in, out]; bias [out] (may be undefined)
/// @param edge_weights  optional [E, in, out] result of spline_edge_weights(basis, weight) (edge paths)
/// @return        [B, N, out] (or [N, out])
torch::Tensor spline_conv(const torch::Tensor& x, const SplineBasis& basis, const torch::Tensor& weight,
                          const torch::Tensor& root, const torch::Tensor& bias,
                          SplinePath path = SplinePath::kEdgeMessages,
                          const torch::Tensor& edge_weights = {});

/// Mean over each node's incoming edges of x_j W_e: x [B, N, in], edge_weights [E, in, out] →
/// [B, N, out] (fused CPU loops, differentiable in both arguments). Single-precision features may
/// also come with half-precision edge weights (inference only, see half_edge_weights_available).
torch::Tensor edge_messages(const torch::Tensor& x, const SplineBasis& basis,
                            const torch::Tensor& edge_weights);

/// Whether this build can run edge_messages on half-precision (IEEE binary16) edge weights
/// (GCC or Clang vector extensions). The message pass streams all E·in·out edge weights once per call and is
/// bound by memory bandwidth, so halving them nearly halves its time; the sums stay in single
/// precision, and each weight is rounded by at most 2⁻¹¹ relative.
bool half_edge_weights_available();

/// Per-edge interpolated weights W_e = Σ_s b_s W_{k_s} → [E, in, out]; they depend on the weights
/// and the graph only, not on the features. Differentiable in `weight` (fused loops on the CPU).
torch::Tensor spline_edge_weights(const SplineBasis& basis, const torch::Tensor& weight);

/// Cluster-mean pooling of [B, N, C] to [B, Nc, C].
torch::Tensor pool_mean(const torch::Tensor& x, const GraphLevel& level);

}  // namespace functional

struct SplineConvOptions {
  SplineConvOptions(int64_t in, int64_t out) : in_channels_(in), out_channels_(out) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size) = 5;
  TORCH_ARG(bool, bias) = true;
};

class SplineConvImpl : public torch::nn::Cloneable<SplineConvImpl> {
 public:
  explicit SplineConvImpl(SplineConvOptions options);
  void reset() override;
  /// With autograd off (inference) the per-edge weights of the last graph are kept and reused
  /// while the weights are unchanged: repeated personalisations on one geometry skip their cost.
  /// Single-precision CPU models run one map at a time on a half-precision copy of them (where
  /// half_edge_weights_available()).
  torch::Tensor forward(const torch::Tensor& x, const SplineBasis& basis);

  SplineConvOptions options;
  torch::Tensor weight;  ///< [kernel_size³, in, out]
  torch::Tensor root;    ///< [in, out]
  torch::Tensor bias;    ///< [out]

 private:
  struct EdgeWeightCache {
    torch::Tensor graph;   ///< basis.source of the graph (held, so it identifies the graph)
    torch::Tensor weight;  ///< the weight tensor they were computed from
    int64_t version = -1;  ///< its _version() then
    torch::Tensor edge_weights;
    torch::Tensor half_edge_weights;  ///< the same in half precision, made on first use
  } cache_;
};
TORCH_MODULE(SplineConv);

}  // namespace metaeik::metapinn
