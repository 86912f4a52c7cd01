#pragma once
// Predictions, validation metrics, ITNN rollouts and inference timing of a trained network
// (LibTorch; used by the trainer, the sweep and the benchmark).

#include <torch/torch.h>

#include <string>
#include <vector>

#include "surrogates/fhn/mlp.hpp"
#include "surrogates/fhn/train.hpp"

namespace metaeik::surrogates::fhn {

/// Network inputs of a kind: ddnn/pinn take (t[, u0, w0[, k]]); itnn takes (u, w[, k]).
int network_inputs(const std::string& kind, const ProblemOptions& p);

/// Predicted states of n trajectories at t = step, 2·step, ..., steps·step (ms): n × steps × 2.
/// DDNN/PINN evaluate the network at every time; ITNN rolls out `steps` updates (step = its
/// itnn_step). u0, w0, k: n each (k ignored outside problem C).
torch::Tensor predict(FhnMlp& net, const std::string& kind, const ProblemOptions& p, const torch::Tensor& u0,
                      const torch::Tensor& w0, const torch::Tensor& k, int steps, double step);

struct Validation {
  double mae = 0, max_error = 0;
  RolloutStats rollout;
};

/// Validation metrics: DDNN/PINN on every validation sample; ITNN by rolling out every
/// validation trajectory at itnn_step and comparing at those times (divergence and false
/// equilibria counted).
Validation validate(FhnMlp& net, const std::string& kind, const Dataset& data, double itnn_step);

/// Seconds to predict `samples` trajectories (LHS starts of the problem) at 1-ms outputs over
/// `duration` ms, without autograd; on CUDA the kernels are synchronised before the clock stops.
double time_inference(FhnMlp& net, const std::string& kind, const ProblemOptions& p, int samples,
                      double duration, double itnn_step, const torch::Device& device = torch::kCPU,
                      std::uint64_t seed = 0);

}  // namespace metaeik::surrogates::fhn
