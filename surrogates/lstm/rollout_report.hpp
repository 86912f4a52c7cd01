#pragma once
// Scores and files of an autoregressive rollout against the true states (LibTorch-free):
// per-attribute MSE in the published [−1, 1] convention and in z-score units over the first
// predicted steps, the V MSE of every simulated cycle, whether every cycle activates the slab,
// ParaView frames of true and predicted V, and traces at chosen cells.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "surrogates/lstm/states_dataset.hpp"
#include "surrogates/lstm/training.hpp"

namespace metaeik::surrogates::lstm {

struct ReportOptions {
  std::size_t mse_steps = 500;        ///< MSE over the first this many predicted steps (published: 500)
  double cycle_ms = 500;              ///< pacing cycle length: blocks of the rollout scored per cycle
  double activation_threshold = -40;  ///< V (mV) an upstroke must cross for a node to count as activated
  double activated_fraction = 0.95;   ///< a cycle "activates the slab" when this fraction of nodes does
};

struct RolloutMetrics {
  std::size_t compared_steps = 0;           ///< predicted steps with truth inside mse_steps
  std::vector<double> mse_pm1, mse_zscore;  ///< per variable
  std::vector<double> mse_per_cycle;        ///< V, [−1, 1] convention, per full cycle with truth
  std::vector<double> activated;            ///< per predicted cycle: fraction of nodes with an upstroke
  std::vector<double> true_activated;       ///< the same for the truth (cycles with truth)
  bool all_cycles_activate = false;
  double ms_per_cycle = 0;  ///< generation time per cycle_ms of simulated time
};

RolloutMetrics rollout_metrics(const Rollout& r, const StatesData& truth, const ReportOptions& o = {});

/// summary.json object of one rollout (mse_pm1 / mse_zscore keyed by variable, mse_per_cycle, ...).
core::Json metrics_json(const Rollout& r, const RolloutMetrics& m, const StatesData& truth);

/// frames/frame_NNNNNN.vti every `every` predicted frames with V_true, V_pred, V_error, plus
/// rollout.pvd, and side_by_side.pvd whose frames put truth (left) and prediction (right) on one
/// grid of width 2·nx + 2 (array V; the two gap columns are NaN) — the published Fig. 4.
void write_rollout_frames(const std::filesystem::path& dir, const Rollout& r, const StatesData& truth,
                          std::size_t every);

/// CSV: time_ms,frame,cell,i,j, then per variable <var>_true,<var>_<model> for each rollout
/// (true columns empty past the data).
void write_cell_traces(const std::filesystem::path& csv, const std::vector<const Rollout*>& rollouts,
                       const StatesData& truth, const std::vector<std::size_t>& cells);

}  // namespace metaeik::surrogates::lstm
