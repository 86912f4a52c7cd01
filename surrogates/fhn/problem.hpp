#pragma once
// The three FitzHugh–Nagumo surrogate problems and their data (torch-free).
//   A: t → (u, w),               t ∈ [0, 25] ms, fixed start (0.5, 0), I = 0.
//   B: (t, u0, w0) → (u, w),      t ∈ [0, 25], Latin-hypercube starts, I = 0.08.
//   C: (t, u0, w0, k) → (u, w),   t ∈ [0, 20], the same starts and k ∈ [0, 1], I = 0.08 + 0.04 k.
// Trajectories are forward-Euler solutions of a monodomain cell model ("fhn-cubic", the default,
// or "fhn-classic" = monodomain's "fhn"), all trajectories advanced together with CellModel::step.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "monodomain/cell_model.hpp"

namespace metaeik::surrogates::fhn {

struct ProblemOptions {
  std::string problem = "b";                     ///< a, b or c
  std::string model = "fhn-cubic";               ///< fhn-cubic (published study) or fhn-classic
  core::Json parameters = core::Json::object();  ///< cell-model parameter overrides (not i_app)
  double horizon = 0;                            ///< trajectory length in ms (0 = 25 for A/B, 20 for C)
  double current = -1;                           ///< I of the problem (−1 = 0 for A, 0.08 for B/C)
  double current_k = 0.04;                       ///< C: I = current + current_k · k
  double u0 = 0.5, w0 = 0.0;                     ///< A: the fixed start
  double u0_min = -0.1, u0_max = 0.81, w0_min = 0.0, w0_max = 0.12;  ///< B/C: start ranges
};

/// The problem with every default resolved (horizon, current).
ProblemOptions resolve(ProblemOptions p);
/// Network inputs: 1 (A), 3 (B), 4 (C).
int input_count(const ProblemOptions& p);
/// Lower/upper bound of every network input (for the input normalisation).
void input_bounds(const ProblemOptions& p, std::vector<double>& lo, std::vector<double>& hi);
/// The cell model with the problem's base current.
std::unique_ptr<monodomain::CellModel> make_model(const ProblemOptions& p);
/// Extra current per trajectory (CellModel i_stim) that realises I = current + current_k · k.
double stim_per_k(const ProblemOptions& p);

/// Coefficients of the right-hand side, for the physics residual of the PINN.
struct RhsCoefficients {
  bool cubic = true;
  double a = 0, b = 0, c = 0, e = 0, g = 0, tau = 1, current = 0;
};
RhsCoefficients rhs_coefficients(const ProblemOptions& p);

struct DataOptions {
  int trajectories = 10000;  ///< B/C: Latin-hypercube starts (A: always 1)
  int train = 5000;          ///< B/C: the first `train` trajectories train, the next `validation` validate
  int validation = 5000;
  int points = 100;       ///< A: training points, evenly spaced on the stored trajectory
  double dt = 0.01;       ///< forward-Euler step (ms)
  double store_dt = 0.1;  ///< storage interval (ms)
  std::uint64_t seed = 0;
};

/// Trajectories stored every store_dt: y[(traj · points + i) · 2 + {0: u, 1: w}] at t = i · store_dt.
struct Trajectories {
  int count = 0, points = 0;
  double store_dt = 0;
  std::vector<double> u0, w0, k;  ///< per trajectory (k = 0 outside problem C)
  std::vector<double> y;
  double u(int traj, int i) const { return y[(std::size_t(traj) * points + i) * 2]; }
  double w(int traj, int i) const { return y[(std::size_t(traj) * points + i) * 2 + 1]; }
};

/// n points of a d-dimensional Latin hypercube in [0, 1)^d, row-major n × d, deterministic given rng.
std::vector<double> latin_hypercube(int n, int d, std::uint64_t seed);

/// Euler solutions from the given starts (k per trajectory for problem C, else empty).
Trajectories solve_trajectories(const ProblemOptions& p, const std::vector<double>& u0,
                                const std::vector<double>& w0, const std::vector<double>& k, double dt,
                                double store_dt, double horizon);

/// Starts of the benchmark/timing protocol: `samples` Latin-hypercube starts (and k) of the problem
/// (problem A: its fixed start), deterministic given the seed.
void bench_starts(const ProblemOptions& p, int samples, std::uint64_t seed, std::vector<double>& u0,
                  std::vector<double>& w0, std::vector<double>& k);

/// The vectorised Euler solver at one step size, timed, and its error against a reference.
struct EulerTiming {
  double dt = 0;
  double seconds = 0;  ///< all samples over the duration, outputs every 1 ms
  double mae = 0;      ///< mean |error| over u, w and the 1-ms outputs (t > 0) against the reference
  double max_error = 0;
};

/// Times Euler at each step in `dts` on the benchmark starts over `duration` ms with `threads`
/// OpenMP threads; errors are against Euler at `reference_dt` (whose own time is also returned,
/// as the last entry).
std::vector<EulerTiming> time_euler(const ProblemOptions& p, int samples, double duration,
                                    const std::vector<double>& dts, double reference_dt, int threads,
                                    std::uint64_t seed);

/// Samples for a network: inputs (rows × input_count) and targets (rows × 2).
struct Samples {
  int inputs = 0;
  std::vector<float> x, y;
  std::size_t rows() const { return inputs ? x.size() / inputs : 0; }
};

/// A problem's training and validation data.
struct Dataset {
  ProblemOptions problem;
  DataOptions options;
  Trajectories train, validation;  ///< for A both are the single trajectory
  Samples train_samples, validation_samples;
};

/// Generates the data of a problem (B/C: LHS starts, the first `train` for training).
Dataset make_dataset(const ProblemOptions& problem, const DataOptions& options);

/// Reads / writes the option structs (key == field name; unknown keys are errors).
void read_problem(core::JsonReader& r, ProblemOptions& p);
void read_data(core::JsonReader& r, DataOptions& d);
core::Json to_json(const ProblemOptions& p);
core::Json to_json(const DataOptions& d);

}  // namespace metaeik::surrogates::fhn
