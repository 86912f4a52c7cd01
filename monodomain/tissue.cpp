#include "monodomain/tissue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "monodomain/ionic_quadrature.hpp"

namespace metaeik::monodomain {
namespace {
/// Loops over nodes are cheap; below this many nodes the OpenMP fork/join costs more than it saves.
constexpr std::size_t kParallelNodes = 8192;
}  // namespace

std::array<double, 3> Grid::point(std::size_t c) const {
  const std::size_t i = c % nx, j = (c / nx) % ny, k = c / (static_cast<std::size_t>(nx) * ny);
  return {i * dx, j * dy, k * dz};
}

std::size_t Grid::nearest(const std::array<double, 3>& x) const {
  auto snap = [](double v, double h, int n) {
    return std::clamp(static_cast<int>(std::lround(v / h)), 0, n - 1);
  };
  return index(snap(x[0], dx, nx), snap(x[1], dy, ny), snap(x[2], dz, nz));
}

bool Stimulus::active(double t) const {
  constexpr double eps = 1e-9;
  if (t < start - eps) return false;
  const double since = t - start;
  long pulse = 0;
  if (period > 0) pulse = static_cast<long>(std::floor((since + eps) / period));
  if (count > 0 && pulse >= count) return false;
  if (period <= 0 && count == 0) pulse = 0;
  const double in = since - pulse * period;
  return in >= -eps && in < duration - eps;
}

bool is_fem_scheme(const std::string& scheme) { return scheme == "fem" || scheme == "fem-svi"; }

std::array<double, 9> diffusion_tensor(const TissueOptions& o) {
  auto f = o.fibre;
  const double norm = std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
  METAEIK_CHECK(norm > 0, "tissue: the fibre direction must be non-zero");
  for (auto& x : f) x /= norm;
  std::array<double, 9> D{};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      D[3 * a + b] = (a == b ? o.d_trans : 0.0) + (o.d_long - o.d_trans) * f[a] * f[b];
  return D;
}

double max_stable_dt(const Grid& g, const std::array<double, 9>& D, const std::string& scheme) {
  const int n[3] = {g.nx, g.ny, g.nz};
  const double h[3] = {g.dx, g.dy, g.dz};
  double lambda = 0;  // Gershgorin bound on the spectral radius of the discrete operator
  for (int a = 0; a < 3; ++a) {
    if (n[a] < 2) continue;
    lambda += (is_fem_scheme(scheme) ? 12 : 4) * D[4 * a] / (h[a] * h[a]);
    for (int b = 0; b < 3; ++b)
      if (b != a && n[b] > 1) lambda += 4 * std::abs(D[3 * a + b]) / (h[a] * h[b]);
  }
  return lambda > 0 ? 2.0 / lambda : std::numeric_limits<double>::infinity();
}

std::string time_step_problem(const TissueOptions& o) {
  std::ostringstream os;
  if (!(o.dt > 0)) {
    os << "dt = " << o.dt << " ms: the time step must be positive";
    return os.str();
  }
  const double sub = o.splitting == "strang" ? o.dt / 2 : o.dt;
  const double limit = max_stable_dt(o.grid, diffusion_tensor(o), o.scheme);
  if (sub > limit) {
    const double dt_max = o.splitting == "strang" ? 2 * limit : limit;
    os << "dt = " << o.dt << " ms is unstable for explicit diffusion: must be <= " << std::setprecision(4)
       << dt_max << " ms at dx = " << o.grid.dx << " mm (D_long = " << o.d_long << ", D_trans = " << o.d_trans
       << " mm^2/ms, " << o.scheme << " scheme, " << o.splitting << " splitting)";
  }
  return os.str();
}

namespace {

/// Consistent-mass Q1 diffusion along one axis: w = −D_aa M_a⁻¹ K_a v on every grid line of the
/// axis (1D stiffness K = [1 −1; −1 2 −1; …]/h, mass M = h/6 [2 1; 1 4 1; …]), Thomas algorithm.
/// Lines are processed `width` at a time (contiguous in memory) for vectorisation.
void fem_axis(const Grid& g, int axis, double d, const double* v, double* w) {
  const int n[3] = {g.nx, g.ny, g.nz};
  const double h[3] = {g.dx, g.dy, g.dz};
  const int m = n[axis];
  const double hh = h[axis];
  // Thomas factors of M (scaled by 6/h): diagonal 2 at the ends, 4 inside, off-diagonal 1.
  std::vector<double> cp(m), inv(m);
  for (int p = 0; p < m; ++p) {
    const double b = (p == 0 || p == m - 1) ? 2.0 : 4.0;
    const double denom = p == 0 ? b : b - cp[p - 1];
    inv[p] = 1.0 / denom;
    cp[p] = p < m - 1 ? inv[p] : 0.0;  // c_p = 1
  }
  const double scale = -d * 6.0 / (hh * hh);  // −D M⁻¹K with K/h and M·h/6 → 6/h²
  auto line = [&](long base, long width, long st) {
    // r = K v (unscaled), written into w; then forward and backward substitution in place.
    for (int p = 0; p < m; ++p) {
      double* wp = w + base + p * st;
      const double* vp = v + base + p * st;
      if (p == 0)
        for (long q = 0; q < width; ++q) wp[q] = vp[q] - vp[q + st];
      else if (p == m - 1)
        for (long q = 0; q < width; ++q) wp[q] = vp[q] - vp[q - st];
      else
        for (long q = 0; q < width; ++q) wp[q] = 2 * vp[q] - vp[q - st] - vp[q + st];
    }
    for (long q = 0; q < width; ++q) w[base + q] *= inv[0];
    for (int p = 1; p < m; ++p) {
      double* wp = w + base + p * st;
      const double* wm = wp - st;
      for (long q = 0; q < width; ++q) wp[q] = (wp[q] - wm[q]) * inv[p];
    }
    for (int p = m - 2; p >= 0; --p) {
      double* wp = w + base + p * st;
      const double* wn = wp + st;
      for (long q = 0; q < width; ++q) wp[q] -= cp[p] * wn[q];
    }
    for (int p = 0; p < m; ++p) {
      double* wp = w + base + p * st;
      for (long q = 0; q < width; ++q) wp[q] *= scale;
    }
  };
  for_each_grid_line(g, axis, g.size() > kParallelNodes, line);
}

}  // namespace

void for_each_grid_line(const Grid& g, int axis, bool parallel,
                        const std::function<void(long, long, long)>& line) {
  const long nx = g.nx, nxy = static_cast<long>(g.nx) * g.ny;
  if (axis == 0) {
#pragma omp parallel for schedule(static) if (parallel)
    for (long l = 0; l < static_cast<long>(g.ny) * g.nz; ++l) line(l * nx, 1, 1);
  } else if (axis == 1) {
#pragma omp parallel for schedule(static) if (parallel)
    for (long k = 0; k < g.nz; ++k) line(k * nxy, nx, nx);
  } else {
#pragma omp parallel for schedule(static) if (parallel)
    for (long j = 0; j < g.ny; ++j) line(j * nx, nx, nxy);
  }
}

void apply_diffusion(const Grid& g, const std::array<double, 9>& D, const double* v, double* out,
                     const std::string& scheme) {
  if (is_fem_scheme(scheme)) {
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        METAEIK_CHECK(a == b || D[3 * a + b] == 0,
                      "tissue: the fem scheme needs fibres along a grid axis (off-diagonal diffusion)");
    const std::size_t n = g.size();
    const bool parallel = n > kParallelNodes;
    std::fill(out, out + n, 0.0);
    std::vector<double> w(n);
    const int nn[3] = {g.nx, g.ny, g.nz};
    for (int a = 0; a < 3; ++a) {
      if (nn[a] < 2 || D[4 * a] == 0) continue;
      fem_axis(g, a, D[4 * a], v, w.data());
#pragma omp parallel for schedule(static) if (parallel)
      for (long c = 0; c < static_cast<long>(n); ++c) out[c] += w[c];
    }
    return;
  }
  METAEIK_CHECK(scheme == "fd",
                "tissue: unknown diffusion scheme \"" << scheme << "\" (expected fd, fem or fem-svi)");
  const int n[3] = {g.nx, g.ny, g.nz};
  const double h[3] = {g.dx, g.dy, g.dz};
  const long stride[3] = {1, g.nx, static_cast<long>(g.nx) * g.ny};
  bool mixed = false;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      if (a != b && n[a] > 1 && n[b] > 1 && D[3 * a + b] != 0) mixed = true;
  const double cd[3] = {D[0] / (h[0] * h[0]), D[4] / (h[1] * h[1]), D[8] / (h[2] * h[2])};
  const long total = static_cast<long>(g.size());
  const bool parallel = g.size() > kParallelNodes;
#pragma omp parallel for schedule(static) if (parallel)
  for (long c = 0; c < total; ++c) {
    const int idx[3] = {static_cast<int>(c % n[0]), static_cast<int>((c / n[0]) % n[1]),
                        static_cast<int>(c / (static_cast<long>(n[0]) * n[1]))};
    const double vc = v[c];
    double acc = 0;
    // Diagonal part: (F_{i+1/2} − F_{i−1/2}) / volume, zero flux through boundary faces; the
    // half volume of a boundary node turns the one-sided difference into 2 D (V_1 − V_0)/h².
    for (int a = 0; a < 3; ++a) {
      if (n[a] < 2) continue;
      const int i = idx[a];
      if (i == 0)
        acc += 2 * cd[a] * (v[c + stride[a]] - vc);
      else if (i == n[a] - 1)
        acc += 2 * cd[a] * (v[c - stride[a]] - vc);
      else
        acc += cd[a] * (v[c + stride[a]] - 2 * vc + v[c - stride[a]]);
    }
    if (mixed) {
      // Mixed part ∂_a(D_ab ∂_b V): on each a-face, D_ab times the mean of the nodal ∂_b V of the
      // two nodes (central differences, one-sided on b-boundaries); no flux through boundaries.
      auto grad_b = [&](long node, int nb_idx, int b) {
        if (nb_idx == 0) return (v[node + stride[b]] - v[node]) / h[b];
        if (nb_idx == n[b] - 1) return (v[node] - v[node - stride[b]]) / h[b];
        return (v[node + stride[b]] - v[node - stride[b]]) / (2 * h[b]);
      };
      for (int a = 0; a < 3; ++a) {
        if (n[a] < 2) continue;
        const int i = idx[a];
        const double vol = (i == 0 || i == n[a] - 1) ? h[a] / 2 : h[a];
        for (int b = 0; b < 3; ++b) {
          const double dab = D[3 * a + b];
          if (b == a || n[b] < 2 || dab == 0) continue;
          const double gc = grad_b(c, idx[b], b);
          double flux = 0;
          if (i < n[a] - 1) flux += dab * 0.5 * (gc + grad_b(c + stride[a], idx[b], b));
          if (i > 0) flux -= dab * 0.5 * (gc + grad_b(c - stride[a], idx[b], b));
          acc += flux / vol;
        }
      }
    }
    out[c] = acc;
  }
}

TissueResult simulate_tissue(const TissueOptions& o, CellModel& model, const std::vector<FrameSink>& sinks) {
  const std::string problem = time_step_problem(o);
  METAEIK_CHECK(problem.empty(), "tissue: " << problem);
  METAEIK_CHECK(o.splitting == "godunov" || o.splitting == "strang",
                "tissue: unknown splitting \"" << o.splitting << "\" (expected godunov or strang)");
  METAEIK_CHECK(o.duration >= 0, "tissue: duration must be non-negative, got " << o.duration);
  METAEIK_CHECK(o.scheme == "fd" || is_fem_scheme(o.scheme),
                "tissue: unknown diffusion scheme \"" << o.scheme << "\" (expected fd, fem or fem-svi)");
  METAEIK_CHECK(o.svi_states == "all" || o.svi_states == "v",
                "tissue: unknown svi_states \"" << o.svi_states << "\" (expected all or v)");
  METAEIK_CHECK(o.svi_weight >= 0 && o.svi_weight <= 1,
                "tissue: svi_weight must be in [0, 1], got " << o.svi_weight);
  const Grid& g = o.grid;
  METAEIK_CHECK(g.nx >= 1 && g.ny >= 1 && g.nz >= 1 && g.dx > 0 && g.dy > 0 && g.dz > 0,
                "tissue: invalid grid");
  const std::size_t n = g.size();
  const bool parallel = n > kParallelNodes;
  const auto D = diffusion_tensor(o);
  const double thr =
      std::isnan(o.activation_threshold) ? model.activation_threshold() : o.activation_threshold;
  const double nan = std::numeric_limits<double>::quiet_NaN();

  core::Stopwatch watch;
  TissueResult res;
  res.states = model.make_states(n);
  res.activation_time.assign(n, nan);
  res.apd90.assign(n, nan);
  double* V = res.states.state(0);
  std::vector<double> rest(V, V + n), peak(V, V + n), vprev(n), lap(n), istim(n, 0.0);

  // Stimulated nodes of each stimulus.
  std::vector<std::vector<std::size_t>> stim_nodes(o.stimuli.size());
  for (std::size_t s = 0; s < o.stimuli.size(); ++s) {
    const auto& st = o.stimuli[s];
    for (std::size_t c = 0; c < n; ++c) {
      const auto x = g.point(c);
      bool in = true;
      for (int a = 0; a < 3; ++a) in = in && x[a] >= st.lo[a] - 1e-9 && x[a] <= st.hi[a] + 1e-9;
      if (in) stim_nodes[s].push_back(c);
    }
    if (stim_nodes[s].empty()) spdlog::warn("tissue: stimulus {} covers no grid node", s + 1);
  }

  const long n_steps = std::lround(o.duration / o.dt);
  std::vector<long> sink_every;
  for (const auto& s : sinks) {
    METAEIK_CHECK(s.interval > 0, "tissue: output interval must be positive, got " << s.interval);
    sink_every.push_back(std::max(1L, std::lround(s.interval / o.dt)));
    s.write(0.0, res.states);
  }
  // fem-svi: ionic current by state-variable interpolation at the quadrature points, applied as the
  // nodal current (inside model.step) plus the correction M⁻¹(b − M I_nodal) (ionic_quadrature.hpp).
  std::unique_ptr<IonicQuadrature> quadrature;
  std::vector<double> i_corr;
  double evaluated_elements = 0;  // summed over reaction steps, for the log
  if (o.scheme == "fem-svi") {
    quadrature = std::make_unique<IonicQuadrature>(
        g, o.svi_states == "v" ? SviStates::kVoltage : SviStates::kAll, o.svi_tolerance);
    i_corr.resize(n);
  }
  auto react = [&](double h) {
    if (quadrature) {
      quadrature->correction(res.states, model, i_corr.data());
      evaluated_elements += static_cast<double>(quadrature->evaluated_elements());
    }
    model.step(res.states.data.data(), n, istim.data(), h);
    if (quadrature && quadrature->evaluated_elements() > 0) {
#pragma omp parallel for schedule(static) if (parallel)
      for (long c = 0; c < static_cast<long>(n); ++c) V[c] -= h * o.svi_weight * i_corr[c];
    }
  };
  auto diffuse = [&](double h) {
    apply_diffusion(g, D, V, lap.data(), o.scheme);
#pragma omp parallel for schedule(static) if (parallel)
    for (long c = 0; c < static_cast<long>(n); ++c) V[c] += h * lap[c];
  };

  std::vector<char> was_active(o.stimuli.size(), 0);
  std::size_t activated = 0;
  core::ProgressBar bar("tissue", static_cast<std::size_t>(n_steps));
  long k = 0;
  for (; k < n_steps; ++k) {
    const double t = k * o.dt;
    // Stimulus current at the start of the step.
    bool changed = false;
    for (std::size_t s = 0; s < o.stimuli.size(); ++s) {
      const char a = o.stimuli[s].active(t);
      changed = changed || a != was_active[s];
      was_active[s] = a;
    }
    if (changed) {
      std::fill(istim.begin(), istim.end(), 0.0);
      for (std::size_t s = 0; s < o.stimuli.size(); ++s)
        if (was_active[s])
          for (std::size_t c : stim_nodes[s]) istim[c] += o.stimuli[s].amplitude;
    }
    std::copy(V, V + n, vprev.begin());
    if (o.splitting == "strang") {
      diffuse(o.dt / 2);
      react(o.dt);
      diffuse(o.dt / 2);
    } else {
      diffuse(o.dt);
      react(o.dt);
    }
    // Activation (first upward threshold crossing, interpolated in the step) and APD90.
    std::size_t newly = 0;
    bool finite = true;
#pragma omp parallel for schedule(static) if (parallel) reduction(+ : newly) reduction(&& : finite)
    for (long c = 0; c < static_cast<long>(n); ++c) {
      const double v0 = vprev[c], v1 = V[c];
      finite = finite && std::isfinite(v1);
      double& at = res.activation_time[c];
      if (std::isnan(at)) {
        if (v0 < thr && v1 >= thr) {
          at = t + o.dt * (thr - v0) / (v1 - v0);
          peak[c] = v1;
          ++newly;
        } else {
          rest[c] = std::min(rest[c], v1);
        }
      } else if (std::isnan(res.apd90[c])) {
        peak[c] = std::max(peak[c], v1);
        const double level = rest[c] + 0.1 * (peak[c] - rest[c]);
        if (v0 >= level && v1 < level) res.apd90[c] = t + o.dt * (v0 - level) / (v0 - v1) - at;
      }
    }
    METAEIK_CHECK(finite, "tissue: the solution diverged at t = " << t + o.dt << " ms (reduce dt)");
    activated += newly;
    for (std::size_t s = 0; s < sinks.size(); ++s)
      if ((k + 1) % sink_every[s] == 0) sinks[s].write((k + 1) * o.dt, res.states);
    bar.advance();
    if (o.stop_when_activated && activated == n) {
      ++k;
      break;
    }
  }
  bar.finish();
  res.steps = k;
  res.t_end = k * o.dt;
  res.wall_seconds = watch.seconds();
  spdlog::info("tissue: {} nodes, {} steps ({} ms) in {:.2f} s, {} of {} nodes activated", n, res.steps,
               res.t_end, res.wall_seconds, activated, n);
  if (quadrature && res.steps > 0) {
    const double elements =
        static_cast<double>(std::max(g.nx - 1, 1)) * std::max(g.ny - 1, 1) * std::max(g.nz - 1, 1);
    spdlog::info(
        "tissue: fem-svi evaluated the quadrature correction on {:.1f} % of the elements per step on average",
        100.0 * evaluated_elements / (elements * static_cast<double>(res.steps)));
  }
  return res;
}

}  // namespace metaeik::monodomain
