#pragma once
// APHYN-EP training (Adam on log-τ and F_dl, L = λ·L_traj + ‖F_dl‖, λ ← λ + γ·L_traj after each
// epoch) with checkpoints (last.pt), resume and a CSV log, and forecasting from one measurement.
//
// A model directory holds model.json (ModelOptions), last.pt (parameters, Adam state, epoch, λ),
// log.csv (epoch,lambda,l_traj,fdl_norm2,loss,<τ...>,mse_validation,seconds).

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "surrogates/aphyn/config.hpp"
#include "surrogates/aphyn/traces.hpp"

namespace metaeik::surrogates::aphyn {

struct FitResult {
  std::map<std::string, double> tau, tau_start;          ///< learned and start τ (ms) by name
  double mse_train = 0, mse_validation = 0;              ///< forecast MSE from the first measurement
  double fdl_norm2_train = 0, fdl_norm2_validation = 0;  ///< mean F_dl² along those forecasts
  double seconds_per_epoch = 0;
  double forecast_seconds = 0;  ///< one 350 ms forecast of one trace
  int epochs = 0;
};

/// Trains a model (physics-only when !options.model.fdl) in `dir` (created if needed). With
/// `resume` it continues from dir/last.pt up to train.epochs. Deterministic given train.seed.
FitResult fit(const ModelOptions& model, const TrainOptions& train, const std::vector<Trace>& train_traces,
              const std::vector<Trace>& validation_traces, const std::filesystem::path& dir, bool resume);

/// One trace's forecast with the split of v(t) − v(0) into ∫F_p dt and ∫F_dl dt.
struct TracePrediction {
  std::string name;
  std::vector<double> t, truth, prediction, fp_integral, fdl_integral;
  double mse = 0;
};

/// Forecasts of a trained model directory (model.json + last.pt) for the given traces.
struct ForecastResult {
  std::vector<TracePrediction> traces;
  double mse = 0, fdl_norm2 = 0;
  double forecast_seconds = 0;  ///< one 350 ms forecast of one trace
  std::map<std::string, double> tau;
};
ForecastResult forecast_dir(const std::filesystem::path& dir, const std::vector<Trace>& traces);

}  // namespace metaeik::surrogates::aphyn
