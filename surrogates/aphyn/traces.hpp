#pragma once
// Action-potential traces for APHYN-EP (torch-free): reading them from a CSV file (time column +
// one column per pixel, any sampling) or from a tissue run's states.bin, and preparing them for
// learning (per-trace normalisation to [0, 1], removal of the leading rest, cut to the horizon).

#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace metaeik::surrogates::aphyn {

/// Raw traces on one shared time axis.
struct TraceSet {
  std::vector<double> time;                 ///< ms, strictly increasing
  std::vector<std::vector<double>> values;  ///< one vector per trace, each time.size() long
  std::vector<std::string> names;           ///< one per trace (CSV column header or "x<i>_y<j>")
};

/// Reads `time,<name>,<name>,...` (header row, then one row per time). Errors name the file, the line
/// and the column: missing column, non-numeric or non-finite value, non-increasing time.
TraceSet read_trace_csv(const std::filesystem::path& path);

/// Writes a TraceSet in the format read_trace_csv reads (atomically).
void write_trace_csv(const std::filesystem::path& path, const TraceSet& traces);

/// Which pixels of a tissue run (monodomain/FORMAT.md) become traces.
struct TissueTraceOptions {
  std::string variable = "V";     ///< state variable in states.bin
  bool noisy = false;             ///< read states_noisy.bin instead of states.bin
  std::array<int, 2> lo{0, 0};    ///< first grid index (i, j) of the region, inclusive
  std::array<int, 2> hi{-1, -1};  ///< last grid index (i, j), inclusive; −1 = last node
  int stride = 1;                 ///< keep every stride-th node in i and in j
  double sample_interval = 0;     ///< > 0: resample to this interval (ms) by the nearest saved frame
};

/// Traces of the nodes (i, j, k = 0) of a tissue output directory, in node order (i fastest).
TraceSet read_tissue_traces(const std::filesystem::path& dir, const TissueTraceOptions& options);

struct PrepareOptions {
  double start_threshold = 0.3;  ///< the trace starts at its first sample with normalised V ≥ this
  double horizon = 350;          ///< ms kept after the start; shorter traces are dropped
};

/// One normalised trace that starts at its upstroke.
struct Trace {
  std::string name;
  std::vector<double> t;        ///< ms from the start (t[0] = 0)
  std::vector<double> v;        ///< normalised to [0, 1] with the trace's min and max
  double v_min = 0, v_max = 1;  ///< the raw values that map to 0 and 1
};

/// Normalises each trace to [0, 1] (min–max over the whole trace), removes the leading rest (the
/// samples before the first one ≥ start_threshold) and keeps `horizon` ms. Flat traces, traces that
/// never reach the threshold and traces shorter than the horizon are dropped with a warning;
/// none left is an error naming `source`.
std::vector<Trace> prepare_traces(const TraceSet& traces, const PrepareOptions& options,
                                  const std::string& source);

}  // namespace metaeik::surrogates::aphyn
