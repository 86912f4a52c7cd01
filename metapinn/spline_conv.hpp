#pragma once
// Spline-based graph convolution (Fey et al. 2018, SplineCNN) on the graph hierarchy of
// geometry/graph.hpp: open B-spline basis of degree 1, kernel_size^3 weight matrices over 3-D
// Cartesian pseudo-coordinates, root weight, bias, mean aggregation.
//
//   out_i = 1/|N(i)| Σ_{j∈N(i)} Σ_{s<8} b_s(u_ij) · x_j W_{k_s(u_ij)}  +  x_i W_root  +  bias

#include <torch/torch.h>

#include "metapinn/spline_basis.hpp"

namespace metaeik::metapinn {

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
  /// The messages of kEdgeMessages with each W_e formed on the fly from the eight kernel matrices
  /// and never stored, forward and backward (CPU; (8 + B)·|E|·in·out multiply-adds forward for B
  /// maps): no E·in·out buffers to write, read or page in. The training path; on other devices kGather.
  kFused,
};

/// @param x       [B, N, in] (or [N, in]) node features
/// @param weight  [kernel_size³, in, out]; root [in, out]; bias [out] (may be undefined)
/// @param edge_weights  optional [E, in, out] result of spline_edge_weights(basis, weight) (edge paths;
///                      given, kFused runs as kEdgeMessages on them)
/// @return        [B, N, out] (or [N, out])
torch::Tensor spline_conv(const torch::Tensor& x, const SplineBasis& basis, const torch::Tensor& weight,
                          const torch::Tensor& root, const torch::Tensor& bias,
                          SplinePath path = SplinePath::kFused, const torch::Tensor& edge_weights = {});

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
