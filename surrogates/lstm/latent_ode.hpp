#pragma once
// The latent-ODE baseline (Rubanova, Chen & Duvenaud 2019, the VAE of torchdiffeq's example):
// a recognition RNN run backwards over a window of frames gives q(z0) = N(μ, σ²); z(t) solves
// dz/dt = f(z) (MLP with ELU) with the adaptive Dormand–Prince integrator of
// dormand_prince.hpp, gradients through its steps; a ReLU MLP decodes z(t) to the frame. The
// loss is the negative ELBO: Gaussian likelihood of the frames plus KL(q(z0) ‖ N(0, I)).

#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "surrogates/lstm/dormand_prince.hpp"

namespace metaeik::surrogates::lstm {

struct LatentOdeModuleOptions {
  LatentOdeModuleOptions(int64_t frame_size, int64_t variables)
      : frame_size_(frame_size), variables_(variables) {}
  TORCH_ARG(int64_t, frame_size);
  TORCH_ARG(int64_t, variables);
  TORCH_ARG(int64_t, extra_inputs) = 0;  ///< phase inputs seen by the recognition RNN
  TORCH_ARG(int64_t, latent) = 50;
  TORCH_ARG(int64_t, ode_hidden) = 50;
  TORCH_ARG(int64_t, recognition_hidden) = 20;
  TORCH_ARG(int64_t, decoder_hidden) = 50;
};

class LatentOdeImpl : public torch::nn::Cloneable<LatentOdeImpl> {
 public:
  explicit LatentOdeImpl(LatentOdeModuleOptions options);
  void reset() override;

  /// Runs the recognition RNN from the last frame to the first: x [batch, steps, in] →
  /// (μ, log σ²) of z at the first frame, each [batch, latent].
  std::tuple<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  /// dz/dt = f(z), z [batch, latent].
  torch::Tensor dynamics(const torch::Tensor& z);
  /// z(times) from z0 [batch, latent] → decoded frames [batch, times, frame_size].
  torch::Tensor decode_trajectory(const torch::Tensor& z0, const std::vector<double>& times,
                                  const DopriOptions& ode, DopriStats* stats = nullptr);

  LatentOdeModuleOptions options;
  torch::nn::Linear i2h{nullptr}, h2o{nullptr};
  torch::nn::Sequential f{nullptr}, decoder{nullptr};
  torch::Tensor mean, std, min, max;  ///< [variables] statistics of the training part (buffers)
};
TORCH_MODULE(LatentOde);

/// Negative ELBO per window (mean over the batch): ½ Σ ((x − x̂)²/σ² + log 2πσ²) + KL.
torch::Tensor negative_elbo(const torch::Tensor& x, const torch::Tensor& x_hat, const torch::Tensor& mu,
                            const torch::Tensor& logvar, double obs_std);

}  // namespace metaeik::surrogates::lstm
