#pragma once
// APHYN-EP hybrid model: dX/dt = F_p(X) + F_dl(X) with X = (v, h), F_p the Mitchell–Schaeffer
// right-hand side with learnable log-τ and F_dl a small ResNet (correction of dv/dt only; h is
// latent). Integrated by explicit Euler with gradients through every step. Double precision.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "surrogates/aphyn/config.hpp"
#include "surrogates/aphyn/traces.hpp"

namespace metaeik::surrogates::aphyn {

namespace functional {
/// MS right-hand side, element-wise (monodomain::MitchellSchaeffer::rhs for the same τ):
/// dv = h v²(1 − v)/τ_in − v/τ_out + J, dh = (1 − h)/τ_open if v < v_gate else −h/τ_close.
/// τ are 0-d tensors (ms); returns {dv, dh}.
std::pair<torch::Tensor, torch::Tensor> ms_rhs(const torch::Tensor& v, const torch::Tensor& h,
                                               const torch::Tensor& tau_in, const torch::Tensor& tau_out,
                                               const torch::Tensor& tau_open, const torch::Tensor& tau_close,
                                               double v_gate, double j_stim = 0);
}  // namespace functional

/// F_dl: Linear(2 → filters) → blocks × [x + W₂ relu(W₁ x)] → relu → Linear(filters → 1), applied per
/// pixel (the 1×1-convolution form of the published ResNet). Orthogonal init with gain g (output g²).
class FdlNetImpl : public torch::nn::Module {
 public:
  FdlNetImpl(int filters, int blocks, double init_gain);
  /// @param vh  B×2 states (v, h) → B×1 correction of dv/dt
  torch::Tensor forward(const torch::Tensor& vh);

 private:
  torch::nn::Linear input_{nullptr}, output_{nullptr};
  std::vector<torch::nn::Linear> block_a_, block_b_;
};
TORCH_MODULE(FdlNet);

class HybridModelImpl : public torch::nn::Module {
 public:
  explicit HybridModelImpl(const ModelOptions& options);
  const ModelOptions& options() const { return options_; }
  /// Current τ (ms) of "tau_in", "tau_out", "tau_open", "tau_close" as a 0-d tensor.
  torch::Tensor tau(const std::string& name) const;
  double tau_value(const std::string& name) const { return tau(name).item<double>(); }
  /// The learned log-τ parameters (for the optimiser), and F_dl's (empty when physics-only).
  std::vector<torch::Tensor> tau_parameters() const;
  std::vector<torch::Tensor> fdl_parameters() const;
  bool has_fdl() const { return !fdl_.is_empty(); }
  /// One Euler step's right-hand sides at time t (ms from the start): {F_p(v), F_dl(v), F_p(h)};
  /// F_dl(v) is undefined when physics-only.
  std::vector<torch::Tensor> rhs(const torch::Tensor& v, const torch::Tensor& h, double t);
  /// F_dl(v, h) (B → B); requires has_fdl().
  torch::Tensor fdl(const torch::Tensor& v, const torch::Tensor& h);

 private:
  ModelOptions options_;
  torch::Tensor log_tau_in_, log_tau_out_, log_tau_close_, log_tau_open_;
  FdlNet fdl_{nullptr};
};
TORCH_MODULE(HybridModel);

/// Traces of equal horizon as tensors: the initial measurement, the targets at their Euler steps.
struct TraceBatch {
  torch::Tensor v0;      ///< B
  torch::Tensor target;  ///< B×K normalised V at the samples
  torch::Tensor steps;   ///< B×K Euler step index of each sample (int64)
  torch::Tensor mask;    ///< B×K 1 for a real sample after t = 0, else 0
  int n_steps = 0;       ///< Euler steps to integrate
};
TraceBatch make_batch(const std::vector<Trace>& traces, double dt);
/// The batch cut to the first n_steps Euler steps (later samples masked out).
TraceBatch truncate(const TraceBatch& b, int n_steps);
/// The sub-batch of the given trace indices.
TraceBatch select(const TraceBatch& b, const torch::Tensor& index);

struct Forecast {
  torch::Tensor v;          ///< B×K predicted v at the samples
  torch::Tensor l_traj;     ///< 0-d: masked mean of (v − target)²
  torch::Tensor fdl_norm2;  ///< 0-d: mean of F_dl² over the Euler steps and traces (0 when physics-only)
  torch::Tensor fp_integral, fdl_integral;  ///< B×K ∫F_p dt and ∫F_dl dt of v (only with keep_split)
};
/// Integrates from batch.v0 (h0 = 1) by explicit Euler for batch.n_steps steps of options().dt:
/// v ← v + Δt (F_p + F_dl), h ← h + Δt F_p,h (the same rhs as HybridModelImpl::rhs, with the τ
/// evaluated once per forecast).
Forecast forecast(HybridModel& model, const TraceBatch& batch, bool keep_split = false);

/// L = λ·L_traj + ‖F_dl‖ with ‖F_dl‖ = sqrt(fdl_norm2) (just λ·L_traj without F_dl).
torch::Tensor hybrid_loss(const Forecast& f, double lambda);
/// λ_{j+1} = λ_j + γ·L_traj.
inline double next_lambda(double lambda, double gamma, double l_traj) { return lambda + gamma * l_traj; }

}  // namespace metaeik::surrogates::aphyn
