#pragma once
// APHYN-EP run configuration (configs/aphyn/*.json), torch-free. Keys equal field names; unknown
// keys are errors naming the file and the key path. Defaults are the published settings.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "surrogates/aphyn/traces.hpp"

namespace metaeik::surrogates::aphyn {

/// Names of the Mitchell–Schaeffer time constants that can be learned.
const std::vector<std::string>& learnable_tau_names();  // tau_in, tau_out, tau_close

struct ModelOptions {
  std::vector<std::string> learn{"tau_in", "tau_out", "tau_close"};  ///< learned τ (others fixed)
  double tau_in = 0.3;                                               ///< ms, start value
  double tau_out = 6.0;                                              ///< ms, start value
  double tau_open = 120.0;                                           ///< ms, fixed
  double tau_close = 150.0;                                          ///< ms, start value
  double v_gate = 0.13;                                              ///< fixed
  bool fdl = true;                                                   ///< false = physics-only (MS alone)
  int fdl_filters = 8;         ///< channels of the ResNet (per-pixel 1×1 convolutions)
  int fdl_blocks = 3;          ///< residual blocks
  double fdl_init_gain = 0.1;  ///< orthogonal-init gain (output layer: gain²) so F_dl starts near 0
  double dt = 0.1;             ///< ms, explicit Euler step
  double stim_duration =
      0;  ///< ms of J_stim at the start of every forecast (0 = none; traces start at the upstroke)
  double stim_amplitude = 1;  ///< J_stim during it (1/ms)
};

struct TrainOptions {
  int epochs = 100;
  /// "adam" (published: Adam on τ and F_dl, one step per batch) or "lbfgs" (each epoch one L-BFGS step on
  /// τ over all traces with a strong-Wolfe line search, lr_tau = its step, then the Adam pass on F_dl)
  std::string optimizer = "adam";
  int lbfgs_iterations = 10;  ///< lbfgs: iterations per epoch
  double lr = 1e-3;           ///< Adam learning rate of F_dl
  double lr_tau = 1e-3;       ///< Adam learning rate of the log-τ parameters
  double lr_decay = 1;        ///< both learning rates are multiplied by this after each epoch
  double lambda0 = 1;         ///< λ_0 of L = λ·L_traj + ‖F_dl‖
  double gamma = 10;          ///< λ_{j+1} = λ_j + γ·L_traj after each epoch
  double horizon_start = 0;   ///< > 0: curriculum, the training horizon grows linearly from this (ms) ...
  int horizon_epochs = 0;     ///< ... to the full horizon over these epochs (0 = full horizon from the start)
  int batch_size = 0;         ///< traces per optimiser step (0 = all)
  int validate_every = 10;    ///< epochs between validation forecasts in log.csv (0 = never)
  int checkpoint_every = 1;   ///< epochs between last.pt checkpoints
  std::uint64_t seed = 0;     ///< initialisation and batch order
  int threads = 1;            ///< LibTorch intra-op threads (tiny tensors: 1 is fastest)
  bool baseline = true;       ///< also train the physics-only model (RUN/physics_only)
  int max_plots = 12;         ///< PNGs of validation traces (0 = all)
};

/// Where traces come from: exactly one of simulate / tissue_dir / csv.
struct SourceOptions {
  std::string simulate;    ///< tissue config to run (path relative to the aphyn config)
  std::string tissue_dir;  ///< existing `metaeikonal tissue` output directory
  std::string csv;         ///< CSV: time + one column per pixel
  double noise =
      0;  ///< simulate: output.noise (σ as a fraction of the V range); tissue_dir: read the noisy copy if > 0
  TissueTraceOptions tissue;  ///< pixels and resampling (simulate / tissue_dir)
  std::string take =
      "all";  ///< "all", or "train"/"validation": every validation_every-th trace is validation
  int validation_every = 3;
};

struct RoiOptions {
  std::string name;
  std::array<int, 2> lo{0, 0}, hi{0, 0};  ///< grid index region (inclusive) replacing the sources' lo/hi
};

struct DataOptions {
  SourceOptions train, validation;
  PrepareOptions prepare;
  std::vector<RoiOptions> rois;  ///< non-empty: one model per ROI (regional experiment)
};

struct AphynConfig {
  std::string description;
  ModelOptions model;
  TrainOptions train;
  DataOptions data;
  std::filesystem::path base_dir;  ///< relative paths in the config are relative to this
};

/// Reads a config; errors start with `source` and name the key path.
AphynConfig read_aphyn_config(const core::Json& json, const std::string& source,
                              const std::filesystem::path& base_dir);
AphynConfig load_aphyn_config(const std::filesystem::path& path);
/// Every setting (resolved, absolute paths), readable by read_aphyn_config.
core::Json to_json(const AphynConfig& cfg);
void read_model_options(core::JsonReader& r, ModelOptions& m);
core::Json to_json(const ModelOptions& m);

}  // namespace metaeik::surrogates::aphyn
