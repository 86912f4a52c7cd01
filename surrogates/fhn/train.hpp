#pragma once
// Training and evaluation of one FitzHugh–Nagumo surrogate (torch-free interface; LibTorch
// lives in the .cpp files). Three kinds share one MLP (surrogates/fhn/mlp.hpp):
//   ddnn  data-driven: batch mean of the Euclidean norm of the (u, w) error;
//   pinn  + mean squared ODE residual at random collocation points (d/dt by autograd) and a
//         squared start-condition term at t = 0;
//   itnn  iterative: (u_t, w_t[, k]) → (u_{t+step}, w_{t+step}) by MSE, rolled out autoregressively.
// Adam with a reduce-on-plateau learning rate stepped every iteration on the training loss.

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "surrogates/fhn/problem.hpp"

namespace metaeik::surrogates::fhn {

struct TrainOptions {
  int iterations = 20000;          ///< optimiser steps
  int batch_size = 0;              ///< data rows per step (0 = all training rows)
  double lr = 1e-3;                ///< Adam learning rate
  double plateau_factor = 0.9999;  ///< lr ← lr · factor after `plateau_patience` steps without improvement
  int plateau_patience = 1000;
  double min_lr = 1e-5;
  double data_weight = 1.0;  ///< PINN weights (DDNN uses the data term alone)
  double physics_weight = 1.0;
  double start_weight = 0.0;
  int collocation = 1024;     ///< PINN residual points per step (uniform in the input box)
  double itnn_step = 1.0;     ///< ITNN update interval (ms)
  std::uint64_t seed = 0;     ///< weights, batches and collocation points
  int threads = 1;            ///< torch / OpenMP threads
  int log_every = 100;        ///< log.csv row every this many steps
  int validate_every = 0;     ///< validation MAE in log.csv every this many steps (0 = at the end only)
  int checkpoint_every = 0;   ///< model/optimiser checkpoint every this many steps (0 = at the end)
  int bench_samples = 10000;  ///< inference timing: samples × 50 ms at 1-ms outputs
};

/// Everything one training run needs.
struct FhnConfig {
  ProblemOptions problem;
  DataOptions data;
  TrainOptions train;
  std::string kind = "ddnn";                                ///< ddnn, pinn or itnn
  std::string architecture = "SiLU64-Sigmoid64-Sigmoid64";  ///< see surrogates/fhn/architecture.hpp
};

/// Reads a config object. A key "config" names a base config file (relative to `base_dir`) that
/// the other keys patch (JSON merge patch). Unknown keys are errors naming the key path.
FhnConfig read_fhn_config(const core::Json& json, const std::string& source,
                          const std::filesystem::path& base_dir);
FhnConfig load_fhn_config(const std::filesystem::path& path);
core::Json to_json(const FhnConfig& c);
/// The config JSON after resolving "config" references (what read_fhn_config reads).
core::Json expand_config(const core::Json& json, const std::string& source,
                         const std::filesystem::path& base_dir);
void read_train(core::JsonReader& r, TrainOptions& t);

struct RolloutStats {
  int rollouts = 0;          ///< validation trajectories rolled out (ITNN only)
  int diverged = 0;          ///< left the true trajectory (max error > 0.1) without settling
  int false_equilibria = 0;  ///< settled (last steps move < 1e-3) more than 0.05 from the true end state
};

struct TrainResult {
  double val_mae = 0;        ///< mean |error| over u and w of the validation data (ITNN: rollouts at 1 ms)
  double val_max_error = 0;  ///< max |error|
  double final_loss = 0;     ///< training loss of the last step
  double train_seconds = 0;  ///< optimisation only (this call)
  double inference_seconds = 0;  ///< bench_samples × 50 outputs (1-ms spacing), no grad
  long parameters = 0;
  int iterations = 0;  ///< steps done in total (resumed runs included)
  RolloutStats rollout;
};

struct RunFiles {
  std::filesystem::path dir;  ///< empty = keep nothing on disk (sweeps)
  bool resume = false;        ///< continue from dir/model.pt, dir/optimizer.pt, dir/state.json
  bool progress = true;       ///< progress bar with the loss
};

/// Trains one surrogate on `data` and evaluates it on the validation split. With a run directory
/// it writes config.json, log.csv, model.pt, optimizer.pt, state.json and metrics.json there.
TrainResult train_surrogate(const FhnConfig& config, const Dataset& data, const RunFiles& files = {});

struct BenchOptions {
  int samples = 100000;        ///< trajectories (Latin-hypercube starts of the run's problem)
  double duration = 50;        ///< ms; outputs every 1 ms (50 network evaluations or ITNN steps)
  int threads = 1;             ///< torch and OpenMP threads for both the network and Euler
  std::string device = "cpu";  ///< cpu or cuda (network only; Euler runs on the CPU)
  std::uint64_t seed = 1;      ///< starts (different from the validation starts)
};

struct BenchResult {
  FhnConfig config;
  int samples = 0;
  double duration = 0;
  double surrogate_seconds = 0;
  double surrogate_mae = 0;          ///< against Euler Δt 0.01 at the 1-ms outputs, whole duration
  double surrogate_mae_horizon = 0;  ///< same, outputs within the problem's training horizon only
  std::vector<EulerTiming> euler;    ///< Δt 0.1, then the Δt 0.01 reference (error 0)
};

/// Times a trained run (RUN/config.json + model.pt) and the vectorised Euler solver on the same
/// samples and threads.
BenchResult bench_run(const std::filesystem::path& run_dir, const BenchOptions& options);

}  // namespace metaeik::surrogates::fhn
