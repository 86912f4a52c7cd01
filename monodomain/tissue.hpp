#pragma once
// Monodomain tissue on structured 2D/3D grids:
//   dV/dt = ∇·(D∇V) − I_ion(V, y) + I_stim,   n·D∇V = 0 on the boundary (no flux),
// in the cell model's units (TTP06: mV, ms, pA/pF; D in mm²/ms). Vertex-centred finite
// differences: node (i,j,k) sits at (i·dx, j·dy, k·dz) mm, boundary nodes own half control
// volumes, and every face flux is D∇V evaluated on that face (conservative: a uniform state
// stays uniform, and Σ V·volume is conserved by the diffusion step). Alternative scheme "fem":
// trilinear (Q1) finite elements on the same nodes with the consistent mass matrix; for an
// axis-aligned D, M⁻¹K is a sum of 1D operators M_a⁻¹K_a, applied with a tridiagonal solve along
// each grid line (a compact scheme; faster, less grid-dependent conduction on coarse grids).
// Scheme "fem-svi": the same diffusion, with the ionic current integrated by state-variable
// interpolation (SVI) instead of taken at the nodes ("fem", ICI): b_i = ∫ φ_i I_ion(Σ_j φ_j y_j) dx
// with 2×2×2 Gauss points per element, M dV/dt = −K V − b + M I_stim; gates and concentrations
// are still integrated at the nodes (Rush–Larsen) and the stimulus stays nodal. svi_weight θ
// blends the two: I = (1 − θ) I_ICI + θ I_SVI. ICI overestimates and SVI underestimates the
// conduction velocity by about the same O(h²) amount, so θ = 0.5 (the Niederer config) cancels
// the leading error; on very coarse grids (h ≳ 2√(Dτ)) ICI blocks conduction and SVI does not.
// See ionic_quadrature.hpp; it costs up to 8 extra ionic-current evaluations per node and step
// (svi_tolerance skips elements whose V spans less than the tolerance, i.e. away from fronts).
// Diffusion is explicit, split from the cell step (Godunov: diffusion dt then cells dt;
// Strang: dt/2, dt, dt/2).

#include <array>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

/// Vertex-centred structured grid; nz = 1 for 2D. Cell (node) index c = i + nx·(j + ny·k).
struct Grid {
  int nx = 1, ny = 1, nz = 1;
  double dx = 1, dy = 1, dz = 1;  ///< mm
  std::size_t size() const { return static_cast<std::size_t>(nx) * ny * nz; }
  int dims() const { return nz > 1 ? 3 : 2; }
  std::size_t index(int i, int j, int k) const {
    return i + static_cast<std::size_t>(nx) * (j + static_cast<std::size_t>(ny) * k);
  }
  std::array<double, 3> point(std::size_t c) const;
  /// Nearest node to a point (mm), clamped to the grid.
  std::size_t nearest(const std::array<double, 3>& x) const;
  std::array<double, 3> extent() const { return {(nx - 1) * dx, (ny - 1) * dy, (nz - 1) * dz}; }
};

/// Box stimulus, repeated `count` times every `period` ms from `start`.
struct Stimulus {
  std::array<double, 3> lo{0, 0, 0}, hi{0, 0, 0};  ///< mm (inclusive, ±1e-9)
  double start = 0;                                ///< ms
  double duration = 1;                             ///< ms
  double amplitude = 0;  ///< depolarising current, voltage units per ms (TTP06: µA/µF)
  double period = 0;     ///< ms between repetitions (0 = once)
  int count = 1;         ///< number of pulses (0 with period > 0 = until the end)
  bool active(double t) const;
};

struct TissueOptions {
  Grid grid;
  double d_long = 0.1;                   ///< mm²/ms along the fibre
  double d_trans = 0.1;                  ///< mm²/ms across the fibre
  std::array<double, 3> fibre{1, 0, 0};  ///< fibre direction (normalised internally)
  double dt = 0.02;                      ///< ms
  double duration = 100;                 ///< ms
  std::string splitting = "godunov";     ///< "godunov" or "strang"
  std::string scheme = "fd";             ///< "fd" (finite differences), "fem" (Q1, consistent mass,
                                         ///< nodal ionic current) or "fem-svi" (fem + SVI ionic current)
  std::string svi_states = "all";        ///< fem-svi: states interpolated to the Gauss points, "all"
                                         ///< or "v" (V only; others from the nearest node)
  double svi_tolerance = 0;              ///< fem-svi: elements whose nodal V spans at most this (model
                                         ///< voltage units) keep the nodal current; 0 = SVI everywhere
  double svi_weight = 1;                 ///< fem-svi: θ in I = (1 − θ) I_nodal + θ I_SVI (1 = pure SVI)
  std::vector<Stimulus> stimuli;
  bool stop_when_activated = false;  ///< stop once every node has activated (activation-only runs)
  double activation_threshold = std::numeric_limits<double>::quiet_NaN();  ///< NaN = model's
};

/// Empty if dt is positive and stable for the explicit diffusion sub-step; otherwise the problem,
/// e.g. "dt = 0.3 ms is unstable for explicit diffusion: must be <= 0.1734 ms at dx = 0.2 mm ...".
std::string time_step_problem(const TissueOptions& o);

/// The 3×3 diffusion tensor D = D_t I + (D_l − D_t) f fᵀ (row-major).
std::array<double, 9> diffusion_tensor(const TissueOptions& o);
/// True for the Q1 schemes "fem" and "fem-svi" (same diffusion operator).
bool is_fem_scheme(const std::string& scheme);

/// Largest stable explicit diffusion sub-step (ms) of the grid, tensor and scheme (bound on the
/// spectral radius: 4 Σ D_aa/h_a² (+ mixed terms) for "fd", 12 Σ D_aa/h_a² for "fem"/"fem-svi").
double max_stable_dt(const Grid& g, const std::array<double, 9>& D, const std::string& scheme = "fd");

/// Runs line(base, width, stride) over the grid lines along `axis` for a 1D operator along that
/// axis: node p of the lines starting at base + q (0 ≤ q < width) is base + q + p·stride
/// (x: one line at a time; y, z: an x-row of lines at a time). OpenMP over the calls when
/// `parallel`.
void for_each_grid_line(const Grid& g, int axis, bool parallel,
                        const std::function<void(long, long, long)>& line);

/// out = ∇·(D∇V) on the grid (no-flux boundaries), scheme "fd" or "fem" (fem needs an
/// axis-aligned D). OpenMP over nodes/lines.
void apply_diffusion(const Grid& g, const std::array<double, 9>& D, const double* v, double* out,
                     const std::string& scheme = "fd");

struct TissueResult {
  std::vector<double> activation_time;  ///< ms, first upward crossing of the threshold (NaN = never)
  std::vector<double> apd90;            ///< ms, first beat: activation → 90 % repolarisation (NaN = never)
  CellStates states;                    ///< final states
  double t_end = 0;                     ///< ms reached
  long steps = 0;
  double wall_seconds = 0;
};

/// Called with the time (ms) and the states at every multiple of `interval` ms (including t = 0).
struct FrameSink {
  double interval = 0;
  std::function<void(double t, const CellStates& states)> write;
};

/// Runs the simulation. Throws core::Error on an unstable dt or a diverging state.
TissueResult simulate_tissue(const TissueOptions& options, CellModel& model,
                             const std::vector<FrameSink>& sinks = {});

}  // namespace metaeik::monodomain
