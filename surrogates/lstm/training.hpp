#pragma once
// Training and autoregressive simulation of the LSTM simulator and the latent-ODE baseline on
// the states of a tissue run. A run directory holds
//   config.json   the resolved config plus the data it was trained on (frames, split)
//   last.pt       model (parameters and the training statistics as buffers), Adam state, progress
//   log.csv       epoch,step,train_loss,validation_loss,lr,seconds
// The header is LibTorch-free so tools/ can call it from a light translation unit.

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "surrogates/lstm/lstm_config.hpp"
#include "surrogates/lstm/states_dataset.hpp"

namespace metaeik::surrogates::lstm {

struct TrainSummary {
  int epochs = 0;              ///< epochs completed
  long long steps = 0;         ///< optimiser steps done
  double train_loss = 0;       ///< mean loss of the last epoch
  double validation_loss = 0;  ///< teacher-forced MSE (LSTM) / reconstruction MSE (latent ODE), NaN if none
  double seconds = 0;          ///< wall time of this call
};

/// Trains `cfg.model` on `data_dir`'s states into `run_dir` (created; an existing run is refused
/// unless `resume`, which continues from run_dir/last.pt with the config stored there;
/// `epochs` > 0 then replaces the configured number of epochs).
TrainSummary train_model(const LstmRunConfig& cfg, const std::filesystem::path& data_dir,
                         const std::filesystem::path& run_dir, bool resume, int epochs = 0);

/// An autoregressive rollout in physical units.
struct Rollout {
  std::string model;             ///< "lstm" or "latent-ode"
  std::size_t first_frame = 0;   ///< data frame index of predicted[0]
  std::size_t steps = 0;         ///< predicted frames
  std::size_t warmup = 0;        ///< true frames fed before first_frame
  std::vector<float> predicted;  ///< steps × frame_size, [frame][variable][node]
  AttributeStats stats;          ///< the training statistics stored in the model
  double warmup_seconds = 0;     ///< warm-up (LSTM) / encoding (latent ODE)
  /// LSTM: MSE (z-scores) of the teacher-forced next-frame predictions over the warm-up frames,
  /// the quantity training minimises; NaN for the latent ODE.
  double warmup_one_step_mse = std::numeric_limits<double>::quiet_NaN();
  double generation_seconds = 0;  ///< producing the `steps` frames
};

/// Loads run_dir, warms the model up on data frames [start − warmup, start) and predicts
/// `steps` frames from `start` on, feeding each prediction back. `start` 0 = the first test
/// frame of the run's split. `threads` > 0 sets LibTorch's thread count.
Rollout simulate_model(const std::filesystem::path& run_dir, const StatesData& data, std::size_t start,
                       std::size_t warmup, std::size_t steps, int threads = 0);

/// The config stored in a run directory (config.json), with errors naming the file.
LstmRunConfig load_run_config(const std::filesystem::path& run_dir);
/// First test frame of the run's split (stored in config.json).
std::size_t run_test_start(const std::filesystem::path& run_dir);

/// [stimulus on, sin, cos] of the pacing phase at time t (ms).
std::vector<float> phase_features(const PhaseOptions& p, double t_ms);
/// Loss weight of the frame at time t (ms) as a target: `weight` when t lies in (0, ms] after a
/// stimulus onset of the protocol `p`, else 1 (lstm.stimulus_weight, lstm.stimulus_weight_ms).
double stimulus_weight(const PhaseOptions& p, double t_ms, double weight, double ms);

}  // namespace metaeik::surrogates::lstm
