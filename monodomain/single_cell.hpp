#pragma once
// Single-cell pacing driver: periodic stimulus, traces, and action-potential features.

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

/// A pacing protocol. JSON keys are the field names (configs/cell/*.json).
struct PacingProtocol {
  double cycle_length = 1000.0;      ///< ms between stimulus onsets
  int beats = 1;                     ///< number of stimuli
  double stim_start = 10.0;          ///< ms, onset of the first stimulus
  double stim_amplitude = 52.0;      ///< depolarising current, voltage units per ms (TTP06: pA/pF)
  double stim_duration = 1.0;        ///< ms
  double dt = 0.01;                  ///< ms, integration step
  double output_interval = 0.1;      ///< ms between trace samples (rounded to a multiple of dt)
  std::vector<std::string> outputs;  ///< states written to the trace; empty = all states
  core::Json parameters = core::Json::object();  ///< cell-model parameter overrides (optional)
};

/// Reads a protocol (unknown keys, non-positive dt, ... → core::Error naming `source`).
PacingProtocol read_pacing_protocol(const core::Json& json, const std::string& source);

/// Features of one beat, from the full-resolution voltage trace (every step).
struct ApFeatures {
  int beat = 0;
  double stim_time = 0;   ///< ms, stimulus onset
  double resting = 0;     ///< V just before the stimulus
  double peak = 0;        ///< max V in the beat
  double dvdt_max = 0;    ///< max dV/dt, voltage units per ms (TTP06: mV/ms = V/s)
  double t_upstroke = 0;  ///< ms, time of max dV/dt (APDs are measured from here)
  double apd50 = 0;       ///< ms, NaN if V does not return below 50 % repolarisation in the beat
  double apd90 = 0;       ///< ms, NaN if not repolarised to 90 %
};

/// Output of run_single_cell.
struct CellTrace {
  std::vector<std::string> names;  ///< traced states
  std::vector<double> time;        ///< ms, #samples
  std::vector<double> values;      ///< #samples × #names, sample-major
  std::vector<ApFeatures> beats;   ///< one per stimulus
};

/// Integrates one cell through the protocol, starting from `initial` (empty = model initial state).
CellTrace run_single_cell(CellModel& model, const PacingProtocol& protocol, std::vector<double> initial = {});

/// AP features of a voltage trace sampled every dt ms over one beat window; `stim_time` is the
/// time of sample 0 (the stimulus onset).
ApFeatures ap_features(const std::vector<double>& v, double dt, double stim_time);

/// "time,<name>,..." CSV (atomic write).
void write_trace_csv(const CellTrace& trace, const std::filesystem::path& path);
/// One row per beat: beat,stim_time,resting,peak,dvdt_max,t_upstroke,apd50,apd90 (atomic write).
void write_features_csv(const CellTrace& trace, const std::filesystem::path& path);

}  // namespace metaeik::monodomain
