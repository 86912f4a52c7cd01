#include "eikonal/speed_fit_adjoint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlopt.hpp>
#include <numeric>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "geometry/graph.hpp"

namespace metaeik::eikonal {

void check_adjoint_fit_options(const AdjointFitOptions& o) {
  METAEIK_CHECK(std::isfinite(o.v_min) && std::isfinite(o.v_max) && o.v_min > 0 && o.v_min < o.v_max,
                "adjoint fit: need 0 < v_min < v_max, got " << o.v_min << ", " << o.v_max);
  METAEIK_CHECK(o.prior == "laplacian" || o.prior == "tv",
                "adjoint fit: prior must be 'laplacian' or 'tv', got '" << o.prior << "'");
  METAEIK_CHECK(std::isfinite(o.prior_weight) && o.prior_weight >= 0,
                "adjoint fit: prior_weight must be >= 0, got " << o.prior_weight);
  METAEIK_CHECK(std::isfinite(o.tv_epsilon) && o.tv_epsilon > 0,
                "adjoint fit: tv_epsilon must be > 0, got " << o.tv_epsilon);
  METAEIK_CHECK(o.source_candidates >= 1,
                "adjoint fit: source_candidates must be >= 1, got " << o.source_candidates);
  METAEIK_CHECK(o.source_search_steps >= 0,
                "adjoint fit: source_search_steps must be >= 0, got " << o.source_search_steps);
  METAEIK_CHECK(o.max_evaluations >= 1,
                "adjoint fit: max_evaluations must be >= 1, got " << o.max_evaluations);
  METAEIK_CHECK(std::isfinite(o.ftol_rel) && o.ftol_rel >= 0,
                "adjoint fit: ftol_rel must be >= 0, got " << o.ftol_rel);
}

namespace {

/// y ≈ t0 + b·τ on the observed nodes, by least squares with b ≥ 1/v_max (τ = travel times at speed 1).
struct LineFit {
  double t0 = 0.0, b = 1.0, sse = std::numeric_limits<double>::infinity();
};

LineFit fit_line(const Eigen::VectorXd& tau, const Eigen::VectorXd& y, const std::vector<int>& obs,
                 double b_min) {
  double st = 0, sy = 0, stt = 0, sty = 0;
  int m = 0;
  for (int i : obs) {
    if (!std::isfinite(tau[i])) return {};
    st += tau[i], sy += y[i], stt += tau[i] * tau[i], sty += tau[i] * y[i], ++m;
  }
  LineFit f;
  const double var = stt - st * st / m;
  f.b = var > 0 ? std::max(b_min, (sty - st * sy / m) / var) : b_min;
  f.t0 = (sy - f.b * st) / m;
  f.sse = 0;
  for (int i : obs) f.sse += std::pow(f.t0 + f.b * tau[i] - y[i], 2);
  return f;
}

struct Problem {
  const FimSolver& solver;
  const Eigen::VectorXd& y;
  const std::vector<int>& obs;
  const std::vector<std::pair<int, int>>& edges;
  const AdjointFitOptions& options;
  int node = 0;  ///< source node
  int solves = 0, evaluations = 0;
  std::string error;  ///< a core::Error inside NLopt's callback (NLopt would drop its message)
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> best_x;

  /// x = (v_0 … v_{n−1}, t0).
  double operator()(const std::vector<double>& x, std::vector<double>& grad) {
    const int n = int(x.size()) - 1;
    SpeedField field{SpeedField::Location::kNode, Eigen::Map<const Eigen::VectorXd>(x.data(), n), {}, 1.0};
    SolveRecord record;
    const Eigen::VectorXd T = solver.solve(field, {{node, x[n]}}, record).times;
    ++solves, ++evaluations;
    const double m = double(obs.size());
    Eigen::VectorXd dT = Eigen::VectorXd::Zero(n);
    double J = 0;
    for (int i : obs) {
      const double r = T[i] - y[i];
      J += r * r / m;
      dT[i] = 2 * r / m;
    }
    SolveGradient g;
    if (!grad.empty()) g = solver.vjp(record, dT);
    // Prior on the mesh edges.
    const double w = options.prior_weight / double(std::max<size_t>(1, edges.size()));
    const bool tv = options.prior == "tv";
    const double eps = options.tv_epsilon;
    for (const auto& [i, j] : edges) {
      const double d = x[i] - x[j];
      double dphi;
      if (tv) {
        const double s = std::sqrt(d * d + eps * eps);
        J += w * (s - eps);
        dphi = d / s;
      } else {
        J += w * d * d;
        dphi = 2 * d;
      }
      if (!grad.empty()) g.speed[i] += w * dphi, g.speed[j] -= w * dphi;
    }
    if (!grad.empty()) {
      for (int i = 0; i < n; ++i) grad[i] = g.speed[i];
      grad[n] = g.onset[0];
    }
    if (J < best) best = J, best_x = x;
    return J;
  }
};

}  // namespace

std::vector<std::vector<int>> mesh_neighbours(const geometry::TetMesh& mesh) {
  const geometry::Graph graph = geometry::mesh_edge_graph(mesh);
  std::vector<std::vector<int>> neighbours(mesh.num_points());
  for (int e = 0; e < graph.num_edges(); ++e) neighbours[graph.edges(e, 1)].push_back(graph.edges(e, 0));
  return neighbours;
}

SourceEstimate estimate_source(const FimSolver& solver, const std::vector<std::vector<int>>& neighbours,
                               const Eigen::VectorXd& observed, const Eigen::VectorXi& mask,
                               const AdjointFitOptions& options) {
  check_adjoint_fit_options(options);
  const int n = int(neighbours.size());
  METAEIK_CHECK(observed.size() == n && mask.size() == n, "source search: observed and mask must have "
                                                              << n << " entries (one per node), got "
                                                              << observed.size() << " and " << mask.size());
  std::vector<int> obs;
  for (int i = 0; i < n; ++i)
    if (mask[i] != 0) {
      METAEIK_CHECK(std::isfinite(observed[i]),
                    "source search: observed time at node " << i << " is not finite");
      obs.push_back(i);
    }
  METAEIK_CHECK(obs.size() >= 2, "source search: need at least 2 observed nodes, got " << obs.size());
  int solves = 0;
  const SpeedField unit{SpeedField::Location::kNode, Eigen::VectorXd::Ones(n), {}, 1.0};
  std::vector<LineFit> tried(n);
  std::vector<char> seen(n, 0);
  const auto score = [&](int c) {
    if (!seen[c]) {
      seen[c] = 1;
      tried[c] = fit_line(solver.solve(unit, {{c, 0.0}}).times, observed, obs, 1.0 / options.v_max);
      ++solves;
    }
    return tried[c].sse;
  };
  std::vector<int> early = obs;
  const int k = std::min<int>(options.source_candidates, int(obs.size()));
  std::partial_sort(early.begin(), early.begin() + k, early.end(), [&](int a, int b) {
    return observed[a] < observed[b] || (observed[a] == observed[b] && a < b);
  });
  int source = early[0];
  for (int c = 0; c < k; ++c)
    if (score(early[c]) < score(source)) source = early[c];
  for (int step = 0; step < options.source_search_steps; ++step) {
    int next = source;
    for (int nb : neighbours[source])
      if (score(nb) < score(next)) next = nb;
    if (next == source) break;
    source = next;
  }
  const LineFit& line = tried[source];
  SourceEstimate r;
  r.source = {source, line.t0};
  r.speed = std::clamp(1.0 / line.b, options.v_min, options.v_max);
  r.solves = solves;
  return r;
}

AdjointFitResult fit_node_speeds_adjoint(const FimSolver& solver, const geometry::TetMesh& mesh,
                                         const Eigen::VectorXd& observed, const Eigen::VectorXi& mask,
                                         const AdjointFitOptions& options) {
  check_adjoint_fit_options(options);
  const int n = mesh.num_points();
  METAEIK_CHECK(observed.size() == n && mask.size() == n, "adjoint fit: observed and mask must have "
                                                              << n << " entries (one per node), got "
                                                              << observed.size() << " and " << mask.size());
  std::vector<int> obs;
  for (int i = 0; i < n; ++i)
    if (mask[i] != 0) {
      METAEIK_CHECK(std::isfinite(observed[i]),
                    "adjoint fit: observed time at node " << i << " is not finite");
      obs.push_back(i);
    }
  METAEIK_CHECK(obs.size() >= 2, "adjoint fit: need at least 2 observed nodes, got " << obs.size());
  core::Stopwatch clock;

  // Mesh edges (each once) and neighbour lists.
  const geometry::Graph graph = geometry::mesh_edge_graph(mesh);
  std::vector<std::pair<int, int>> edges;
  std::vector<std::vector<int>> neighbours(n);
  for (int e = 0; e < graph.num_edges(); ++e) {
    const int a = graph.edges(e, 0), b = graph.edges(e, 1);
    neighbours[b].push_back(a);
    if (a < b) edges.emplace_back(a, b);
  }

  // Source: the earliest observed nodes, then neighbour moves, scored by the uniform-speed line fit.
  const SourceEstimate estimate = estimate_source(solver, neighbours, observed, mask, options);
  const int source = estimate.source.node, solves = estimate.solves;
  const double v0 = estimate.speed;
  double y_min = std::numeric_limits<double>::infinity();
  for (int i : obs) y_min = std::min(y_min, observed[i]);
  const double t_lo = y_min - 200.0, t_hi = y_min + 50.0;  // onset bounds, ms

  // L-BFGS over (v, t0) within the bounds.
  Problem p{solver, observed, obs, edges, options, source, 0, 0, {}, std::numeric_limits<double>::infinity(),
            {}};
  std::vector<double> x(n + 1, v0), lo(n + 1, options.v_min), hi(n + 1, options.v_max);
  x[n] = std::clamp(estimate.source.time, t_lo, t_hi), lo[n] = t_lo, hi[n] = t_hi;
  nlopt::opt opt(nlopt::LD_LBFGS, unsigned(n + 1));
  opt.set_lower_bounds(lo);
  opt.set_upper_bounds(hi);
  opt.set_min_objective(
      [](const std::vector<double>& v, std::vector<double>& g, void* data) {
        auto& problem = *static_cast<Problem*>(data);
        try {
          return problem(v, g);
        } catch (const core::Error& e) {
          problem.error = e.what();
          throw nlopt::forced_stop();
        }
      },
      &p);
  opt.set_maxeval(options.max_evaluations);
  opt.set_ftol_rel(options.ftol_rel);
  double f = 0;
  try {
    opt.optimize(x, f);
  } catch (const std::exception& e) {
    spdlog::debug("adjoint fit stopped early: {}", e.what());  // roundoff-limited etc.: keep the best point
  }
  METAEIK_CHECK(p.error.empty(), "adjoint fit: " << p.error);
  METAEIK_CHECK(!p.best_x.empty(), "adjoint fit: no evaluation succeeded");

  AdjointFitResult r;
  r.node_speed = Eigen::Map<const Eigen::VectorXd>(p.best_x.data(), n);
  r.source = {source, p.best_x[n]};
  r.times = solver.solve({SpeedField::Location::kNode, r.node_speed, {}, 1.0}, {r.source}).times;
  double sse = 0;
  for (int i : obs) sse += std::pow(r.times[i] - observed[i], 2);
  r.rmse = std::sqrt(sse / double(obs.size()));
  r.objective = p.best;
  r.evaluations = p.evaluations;
  r.solves = solves + p.solves + 1;
  r.seconds = clock.seconds();
  return r;
}

}  // namespace metaeik::eikonal
