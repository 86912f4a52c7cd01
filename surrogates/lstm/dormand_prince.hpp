#pragma once
// A small differentiable adaptive Runge–Kutta 5(4) integrator (Dormand & Prince 1980, the
// `dopri5` of torchdiffeq): every stage is ordinary LibTorch arithmetic, so gradients flow
// through all accepted steps (discretise-then-optimise); the step-size controller works on
// detached error norms. Steps are shortened to land exactly on every requested output time.

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace metaeik::surrogates::lstm {

struct DopriOptions {
  double rtol = 1e-3;       ///< relative tolerance
  double atol = 1e-4;       ///< absolute tolerance
  double first_step = 0;    ///< > 0: initial step; 0: Hairer's automatic choice
  double safety = 0.9;      ///< step factor safety
  double min_factor = 0.2;  ///< smallest step shrink per attempt
  double max_factor = 10;   ///< largest step growth per step
  int max_steps = 1000000;  ///< attempted steps before giving up (error)
};

struct DopriStats {
  int accepted = 0;     ///< accepted steps
  int rejected = 0;     ///< rejected attempts
  int evaluations = 0;  ///< right-hand-side evaluations
};

/// dy/dt = f(t, y).
using OdeFunction = std::function<torch::Tensor(double t, const torch::Tensor& y)>;

/// y at each of `times` (strictly increasing; y(times[0]) = y0): tensor [times.size(), y0.sizes()...].
torch::Tensor odeint_dopri5(const OdeFunction& f, const torch::Tensor& y0, const std::vector<double>& times,
                            const DopriOptions& options = {}, DopriStats* stats = nullptr);

}  // namespace metaeik::surrogates::lstm
