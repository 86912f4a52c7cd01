#pragma once
// The meta-PINN (docs/DESIGN.md, metapinn → Model): spline-convolution encoders → embeddings c (tissue, mean
// over k context maps) and s (source, from the early 20 % of a query) → hypernetworks that emit
// the weights of the PINN T(x) and the velocity-net F(x), applied functionally. Losses: data MSE
// on observed nodes and the Eikonal residual |∇ₓT|·F − 1 with ∇ₓT from autograd.
//
// Units: the model works in scaled units x' = (x − centre)/L, t' = t/τ, v' = v·τ/L (see
// metapinn/data.hpp); with them the Eikonal equation keeps its form |∇'T'|·v' = 1.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "metapinn/spline_conv.hpp"

namespace metaeik::metapinn {

namespace functional {

enum class Activation { kTanh, kRelu, kElu };

/// Number of parameters of a dense MLP with layer sizes [d0, d1, ..., dL]: Σ d_l·d_{l+1} + d_{l+1}.
int64_t mlp_parameter_count(const std::vector<int64_t>& sizes);

/// Dense MLP with weights taken from a flat vector, laid out layer by layer as weight [out, in]
/// (row-major, torch::nn::Linear's layout) then bias [out]. The activation follows every layer
/// but the last.
/// @param x     [N, d0] with flat [P], or [B, N, d0] with flat [B, P] (one network per batch item)
/// @return      [N, dL] or [B, N, dL]
torch::Tensor mlp(const torch::Tensor& x, const torch::Tensor& flat, const std::vector<int64_t>& sizes,
                  Activation activation);

/// The MLP of mlp() and its directional derivatives by forward-mode differentiation: with
/// dx [B, D, N, d0] the derivatives of the input along D directions, returns y [B, N, dL] and
/// dy [B, D, N, dL]. Built from ordinary tensor operations, so both are differentiable by autograd
/// (first order), without the double backward that ∇ₓ by autograd needs inside a training loss.
std::pair<torch::Tensor, torch::Tensor> mlp_jvp(const torch::Tensor& x, const torch::Tensor& dx,
                                                const torch::Tensor& flat, const std::vector<int64_t>& sizes,
                                                Activation activation);

/// ∇ₓT by autograd. T [..., M] must be computed elementwise from x [..., M, 3] (requires grad).
/// @return [..., M, 3]; differentiable when create_graph.
torch::Tensor spatial_gradient(const torch::Tensor& T, const torch::Tensor& x, bool create_graph);

/// Eikonal residual |∇ₓT|·F − 1 (scaled units). @param speed broadcastable to T's shape.
torch::Tensor eikonal_residual(const torch::Tensor& T, const torch::Tensor& x, const torch::Tensor& speed,
                               bool create_graph);

/// The same from a given gradient [..., M, 3]: sqrt(|g|² + 10⁻¹²)·F − 1.
torch::Tensor eikonal_residual(const torch::Tensor& gradient, const torch::Tensor& speed);

/// mean(max(0, |s| − live)²) of sigmoid logits s: zero while every sigmoid still passes a gradient
/// (sigmoid'(4) ≈ 0.018), growing as they saturate.
torch::Tensor saturation_penalty(const torch::Tensor& logits, double live = 4.0);

}  // namespace functional

/// Architecture. Every field is part of the signature stored in checkpoints.
struct ModelOptions {
  std::vector<int64_t> encoder_channels{8, 16, 32, 64, 128, 128};  ///< SplineConv outputs; last = embedding
  int64_t kernel_size = 5;                                         ///< B-spline kernel size per dimension
  std::vector<int64_t> hyper_hidden{256, 256, 256, 256, 512};      ///< hypernetwork hidden widths
  int64_t pinn_width = 20;                                         ///< neurons per hidden layer of T(x)
  int64_t pinn_hidden_layers = 6;                                  ///< tanh hidden layers of T(x)
  int64_t velocity_width = 20;                                     ///< neurons per hidden layer of F(x)
  int64_t velocity_layers = 8;                                     ///< linear layers of F(x)
  /// Activation between the layers of F(x): "relu" (the reference code's) or "elu". A deep ReLU
  /// net can die: once every unit of one layer is off at all x, F is exactly constant and no
  /// gradient reaches the layers below (bench/results/metapinn.md, the flat-F failure).
  std::string velocity_activation = "relu";
  double v_min = 0.1;               ///< lower bound of F(x), mm/ms
  double v_max = 0.6;               ///< upper bound of F(x), mm/ms
  double velocity_steepness = 1.0;  ///< F = v_min + (v_max − v_min)·sigmoid(steepness·z)
  /// Scale of the hypernetworks' last layer at initialisation (1 = torch's default). At 0.1 the
  /// generated networks hardly depended on the embeddings (bench/results/metapinn.md).
  double hyper_init_scale = 1.0;
  /// Append the scaled node coordinates x' (times the mask) to the encoders' per-node inputs
  /// ([AT, mask, mask·x', mask·y', mask·z'], then the slowness channels below).
  /// Spline convolutions followed by a global max pool are (nearly) translation invariant, so
  /// without positions the source encoder cannot tell where the early activation is.
  bool encoder_coordinates = true;
  /// Append each map's apparent local slowness to the encoders' per-node inputs: on observed nodes
  /// max over observed graph neighbours j of (f_i − f_j)/|x_i' − x_j'| (≥ 0, f = the AT feature),
  /// an upwind estimate of |∇T| that is high in slow (scarred) tissue whatever the source; 0 on
  /// unobserved nodes. Gives the velocity encoder a source-independent view of the tissue.
  /// Adds 4 channels: the slowness s and s·x', s·y', s·z'.
  bool encoder_slowness = true;
  /// Give T(x) the distance to the query's estimated source as a fourth input,
  /// T = PINN(x', y', z', d) with d = sqrt(|x' − x̂₀'|² + ε²). x̂₀ is the soft-argmin of the query's
  /// early observations (see MetaPinnImpl::source_points). The Eikonal solution of a point source
  /// is nearly proportional to d, so the generated PINN only has to learn the corrections
  /// (a factored-Eikonal input, as in factored PINN Eikonal solvers).
  bool source_distance = true;

  std::vector<int64_t> pinn_sizes() const;      ///< [3 or 4, w, ..., w, 1]
  std::vector<int64_t> velocity_sizes() const;  ///< [3, w, ..., w, 1]
  int64_t embedding() const { return encoder_channels.back(); }
  /// One-line description of the architecture (checkpoints of another architecture are refused).
  std::string signature() const;
};

/// Six SplineConv layers with ELU, cluster-mean pooling between levels, global max pool.
class EncoderImpl : public torch::nn::Cloneable<EncoderImpl> {
 public:
  EncoderImpl(std::vector<int64_t> channels, int64_t in_channels, int64_t kernel_size);
  void reset() override;
  /// @param x [B, N, in] features on level 0 → [B, channels.back()]
  torch::Tensor forward(const torch::Tensor& x, const std::vector<GraphLevel>& levels);

  std::vector<int64_t> channels;
  int64_t in_channels;
  int64_t kernel_size;
  std::vector<SplineConv> convs;
};
TORCH_MODULE(Encoder);

/// MLP from an embedding to a flat weight vector. The last layer starts at `init_scale` times
/// its default initialisation with its bias set to a default-initialised target network, so the
/// generated networks start as ordinary freshly initialised networks.
class HyperNetImpl : public torch::nn::Cloneable<HyperNetImpl> {
 public:
  HyperNetImpl(int64_t in, std::vector<int64_t> hidden, std::vector<int64_t> target_sizes, double init_scale);
  void reset() override;
  /// [B, in] → [B, P] with P = mlp_parameter_count(target_sizes)
  torch::Tensor forward(const torch::Tensor& z);

  int64_t in;
  std::vector<int64_t> hidden, target_sizes;
  double init_scale;
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(HyperNet);

/// Per-node encoder inputs [B, N, in] from map features [B, N, 2] (see ModelOptions: the features, then
/// mask·x' and the apparent slowness channels as the options ask). Shared by MetaPinn and MetaFim.
torch::Tensor encoder_inputs(const ModelOptions& options, const torch::Tensor& features,
                             const std::vector<GraphLevel>& levels, const torch::Tensor& nodes);
/// Number of encoder input channels under `options` (2, + 3 with coordinates, + 4 with slowness).
int64_t encoder_input_channels(const ModelOptions& options);
/// Starts the velocity-net that `hyper` generates (layer sizes options.velocity_sizes()) from He-uniform
/// weights and zero biases (the bias of the hypernetwork's last layer; see MetaPinnImpl::reset).
void init_velocity_hyper(HyperNet& hyper, const ModelOptions& options);

/// What one subject's episode needs, in scaled units, on one device.
struct EpisodeInput {
  const std::vector<GraphLevel>* levels = nullptr;
  torch::Tensor context;         ///< [k, N, 2] encoder features of the context maps
  torch::Tensor query_features;  ///< [Q, N, 2] early-activation features of the queries
  torch::Tensor query_times;     ///< [Q, N] target times t' (used where supervised)
  torch::Tensor observed;        ///< [N] bool, nodes with observations
  /// [Q, N] optional data-loss weights (1 = supervised node of that query); undefined = `observed`.
  torch::Tensor supervised;
  torch::Tensor nodes;         ///< [N, 3] x' of the nodes
  torch::Tensor extra_points;  ///< [M, 3] optional extra residual points (may be undefined)
};

struct EpisodeOutput {
  torch::Tensor times;     ///< [Q, N] predicted t' on the nodes
  torch::Tensor speed;     ///< [N] predicted v' on the nodes
  torch::Tensor residual;  ///< [Q, N(+M)] |∇T|·F − 1 on the residual points (nodes first)
  torch::Tensor data_loss;
  torch::Tensor pde_loss;
  /// functional::saturation_penalty of the velocity-net logits on the residual points.
  torch::Tensor logit_penalty;
};

class MetaPinnImpl : public torch::nn::Cloneable<MetaPinnImpl> {
 public:
  MetaPinnImpl(ModelOptions options, double speed_scale);
  void reset() override;

  /// c: mean of the velocity encoder over the context maps [k, N, 2] → [C]; nodes [N, 3] x'
  torch::Tensor context_embedding(const torch::Tensor& context, const std::vector<GraphLevel>& levels,
                                  const torch::Tensor& nodes);
  /// Per-node encoder inputs [B, N, in] from map features [B, N, 2] (see ModelOptions).
  torch::Tensor encoder_inputs(const torch::Tensor& features, const std::vector<GraphLevel>& levels,
                               const torch::Tensor& nodes) const;
  /// s: source encoder [Q, N, 2] → [Q, C]
  torch::Tensor source_embedding(const torch::Tensor& features, const std::vector<GraphLevel>& levels,
                                 const torch::Tensor& nodes);
  torch::Tensor pinn_weights(const torch::Tensor& c, const torch::Tensor& s);  ///< [Q, P_T]
  torch::Tensor velocity_weights(const torch::Tensor& c);                      ///< [P_F]
  /// Estimated source x̂₀' of each query from its early-activation features [Q, N, 2]: the mean of the
  /// observed nodes' x' weighted by softmax(−(t − t_min)/σ), σ = 1 % of the feature time scale.
  /// → [Q, 3] (not differentiated).
  torch::Tensor source_points(const torch::Tensor& query_features, const torch::Tensor& nodes) const;
  /// T'(x') of each query: x [Q, M, 3], weights [Q, P_T], sources [Q, 3] (used when
  /// options.source_distance; may be undefined otherwise) → [Q, M]
  torch::Tensor time(const torch::Tensor& x, const torch::Tensor& weights,
                     const torch::Tensor& sources) const;
  /// T' and ∇ₓ'T' [Q, M, 3] together, by forward-mode differentiation (functional::mlp_jvp).
  std::pair<torch::Tensor, torch::Tensor> time_and_gradient(const torch::Tensor& x,
                                                            const torch::Tensor& weights,
                                                            const torch::Tensor& sources) const;
  /// v'(x'): x [M, 3], weights [P_F] → [M], within [v_min, v_max]/speed_scale
  torch::Tensor speed(const torch::Tensor& x, const torch::Tensor& weights) const;
  /// The velocity-net's logits s = steepness·F_net(x) [M], with v = v_min + (v_max − v_min)·sigmoid(s).
  torch::Tensor speed_logits(const torch::Tensor& x, const torch::Tensor& weights) const;
  /// v' from the logits (see speed_logits).
  torch::Tensor speed_of_logits(const torch::Tensor& logits) const;

  /// Full forward pass of an episode. With residual=false the PDE terms are skipped. Every
  /// output is differentiable while autograd is on (training).
  EpisodeOutput run(const EpisodeInput& in, bool residual);

  ModelOptions options;
  double speed_scale;  ///< v' = v / speed_scale (speed_scale = L/τ, mm/ms)
  Encoder velocity_encoder{nullptr}, source_encoder{nullptr};
  HyperNet pinn_hyper{nullptr}, velocity_hyper{nullptr};

 private:
  functional::Activation velocity_activation_ = functional::Activation::kRelu;  ///< of options
};
TORCH_MODULE(MetaPinn);

}  // namespace metaeik::metapinn
