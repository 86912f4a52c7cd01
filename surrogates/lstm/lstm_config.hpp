#pragma once
// Options of the LSTM tissue simulator, its latent-ODE baseline and their training, read from
// configs/lstm/*.json (config key == field name; unknown keys are errors).

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace metaeik::surrogates::lstm {

/// Which frames train and how they are cut into windows (both models).
struct DataOptions {
  std::vector<std::string> variables{"V", "Cai", "CaSR", "Cass"};  ///< states.json variables, in order
  double train_fraction = 0.8;       ///< the first part of the frames trains, the rest tests
  double validation_fraction = 0.1;  ///< last part of the training frames: validation windows only
  int window = 1000;                 ///< frames per window (inputs window−1 steps, targets shifted by 1)
  int stride = 1;                    ///< frames between consecutive window starts
  int max_windows = 0;               ///< > 0: a seeded random subset of that many training windows
  int max_validation_windows = 8;    ///< validation windows (evenly spaced; 0 = none)
};

/// Pacing phase fed as extra inputs (a departure from the published model, off there).
struct PhaseOptions {
  bool enabled = false;             ///< append [stimulus on, sin, cos of the pacing phase] to every input
  double period_ms = 500;           ///< pacing cycle length
  double stimulus_start_ms = 0;     ///< time of the first stimulus
  double stimulus_duration_ms = 1;  ///< stimulus on for t − start (mod period) in [0, this)
};

struct LstmOptions {
  int hidden = 64;       ///< LSTM hidden size
  int layers = 2;        ///< stacked LSTM layers
  double dropout = 0.2;  ///< between LSTM layers (training only)
  double lr = 1e-3;      ///< Adam learning rate
  int batch_size = 16;
  int epochs = 3;
  double input_noise =
      0;  ///< σ of Gaussian noise added to the teacher-forced input frames (z-score units; 0 = published)
  int free_run_steps =
      0;  ///< last steps of each training window fed with the model's own predictions (0 = published)
  /// Loss weight of the target frames in (0, stimulus_weight_ms] after each stimulus onset of the
  /// phase options' protocol (1 = published; makes the stimulus kick learnable).
  double stimulus_weight = 1;
  double stimulus_weight_ms = 5;
};

struct LatentOdeOptions {
  int latent = 50;                  ///< z dimension
  int ode_hidden = 50;              ///< ODE function 50 → ode_hidden ELU → ode_hidden ELU → 50
  int recognition_hidden = 20;      ///< backwards RNN hidden size
  int decoder_hidden = 50;          ///< decoder latent → decoder_hidden ReLU → frame
  double obs_std = 0.3;             ///< σ of the Gaussian likelihood (z-score units)
  double time_scale_ms = 100;       ///< ODE time unit
  double rtol = 1e-3, atol = 1e-4;  ///< Dormand–Prince tolerances
  double lr = 1e-2;
  int batch_size = 16;
  int epochs = 2;
  int window = 0;       ///< frames per window for this model (0 = data.window)
  int max_windows = 0;  ///< 0 = data.max_windows
};

struct TrainOptions {
  std::uint64_t seed = 0;
  int threads = 0;            ///< torch intra-op threads (0 = default)
  int checkpoint_every = 50;  ///< batches between last.pt saves (and one at each epoch end)
  double clip_norm = 1.0;     ///< gradient-norm clip (0 = off)
};

struct LstmRunConfig {
  std::string model = "lstm";  ///< "lstm" or "latent-ode"
  std::string tissue_config;   ///< documentation: the tissue config that makes the data
  DataOptions data;
  PhaseOptions phase;
  LstmOptions lstm;
  LatentOdeOptions latent_ode;
  TrainOptions train;
};

/// Reads a config object; errors name `source` and the key path.
LstmRunConfig read_lstm_config(const core::Json& json, const std::string& source);
/// Every field, for config.json of a run.
core::Json to_json(const LstmRunConfig& cfg);

}  // namespace metaeik::surrogates::lstm
