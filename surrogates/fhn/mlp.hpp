#pragma once
// The surrogate network (LibTorch): inputs scaled to [−1, 1], [Linear → activation] × L,
// Linear → 2, Tanh, outputs multiplied by a per-state scale (1 for the cubic model, whose u and
// w lie in (−1, 1)). The three loss kinds of the study as free functions.

#include <torch/torch.h>

#include <vector>

#include "surrogates/fhn/architecture.hpp"
#include "surrogates/fhn/problem.hpp"

namespace metaeik::surrogates::fhn {

class FhnMlpImpl : public torch::nn::Module {
 public:
  /// @param lo, hi  range of every input (mapped to [−1, 1]); @param scale  output scale per state
  FhnMlpImpl(const Architecture& arch, const std::vector<double>& lo, const std::vector<double>& hi,
             const std::vector<double>& scale);
  /// @param x  N × inputs (raw units: ms, u, w, k)  @return N × 2 (u, w)
  torch::Tensor forward(const torch::Tensor& x);
  int inputs() const { return static_cast<int>(lo_.size(0)); }

 private:
  torch::nn::Sequential net_;
  torch::Tensor lo_, hi_, scale_;
};
TORCH_MODULE(FhnMlp);

/// The FHN right-hand side (f_u, f_w) on tensors; `k` (N, may be undefined) adds stim_per_k · k.
std::pair<torch::Tensor, torch::Tensor> rhs(const RhsCoefficients& r, double stim_per_k,
                                            const torch::Tensor& u, const torch::Tensor& w,
                                            const torch::Tensor& k);

/// DDNN loss: batch mean of the Euclidean norm of the error (pred, target: N × 2).
torch::Tensor norm_loss(const torch::Tensor& pred, const torch::Tensor& target);

/// d(output)/dt of the network at x (N × inputs, column 0 = t) by autograd, differentiable
/// (create_graph). @return (N × 2 outputs, N × 2 time derivatives)
std::pair<torch::Tensor, torch::Tensor> time_derivative(FhnMlp& net, const torch::Tensor& x);

/// Mean over x of (du/dt − f_u)² + (dw/dt − f_w)² (x: N × inputs collocation points).
torch::Tensor physics_residual(FhnMlp& net, const torch::Tensor& x, const RhsCoefficients& r,
                               double stim_per_k);

}  // namespace metaeik::surrogates::fhn
