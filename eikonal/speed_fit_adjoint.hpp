#pragma once
// Gradient-based physics personalisation (issue 13): a per-node speed field within [v_min, v_max]
// with a smoothness prior on the mesh-edge graph, plus the activation source and its onset, fitted
// to the sparse (noisy) observations of one map with bound-constrained L-BFGS (NLopt), gradients by
// the adjoint of the FIM solve (FimSolver::vjp). The BOBYQA baseline over region speeds is in
// eikonal/speed_fit.hpp.
//
// Objective: J(v, t0) = mean over observed nodes of (T_i(v, s, t0) − y_i)² + prior_weight · R(v),
//   R = mean over mesh edges (i, j) of (v_i − v_j)²                     ("laplacian"), or
//   R = mean over mesh edges of sqrt((v_i − v_j)² + ε²) − ε             ("tv", ε = tv_epsilon).
// Source: each of the `source_candidates` earliest observed nodes is tried with a uniform speed, the
// onset and the uniform slowness by linear least squares (y ≈ t0 + b·τ, τ the travel time at speed
// 1, one solve each); the best one is then moved to a mesh neighbour (observed or not) while that
// lowers the residual, at most `source_search_steps` times. The chosen node's onset is a variable of
// the L-BFGS fit.

#include <Eigen/Core>
#include <string>
#include <vector>

#include "eikonal/fim.hpp"

namespace metaeik::eikonal {

struct AdjointFitOptions {
  double v_min = 0.05;          ///< lower bound of every node speed, mm/ms
  double v_max = 1.0;           ///< upper bound, mm/ms
  std::string prior = "tv";     ///< smoothness prior: "laplacian" or "tv"
  double prior_weight = 80.0;   ///< weight of the prior, ms² per unit of R
  double tv_epsilon = 0.01;     ///< TV smoothing, mm/ms
  int source_candidates = 5;    ///< earliest observed nodes tried as the source
  int source_search_steps = 4;  ///< neighbour moves from the best candidate (0 = keep it)
  int max_evaluations = 150;    ///< L-BFGS evaluations (each one FIM solve + one adjoint)
  double ftol_rel = 1e-7;       ///< L-BFGS relative tolerance on J
};

struct AdjointFitResult {
  Eigen::VectorXd node_speed;  ///< #P fitted speeds, mm/ms
  Source source;               ///< chosen source node and fitted onset (ms)
  Eigen::VectorXd times;       ///< #P activation times of the fitted model, ms
  double rmse = 0.0;           ///< RMSE at the observed nodes, ms
  double objective = 0.0;      ///< final J
  int solves = 0;              ///< FIM solves in total (source search + fit)
  int evaluations = 0;         ///< L-BFGS evaluations
  double seconds = 0.0;        ///< wall time of the whole fit
};

/// Throws core::Error (one line, naming the option) for invalid options.
void check_adjoint_fit_options(const AdjointFitOptions& options);

/// The source search of fit_node_speeds_adjoint (see the header comment): the best of the
/// `source_candidates` earliest observed nodes by the uniform-speed line fit y ≈ t0 + b·τ, then
/// moved to mesh neighbours while that lowers the residual.
struct SourceEstimate {
  Source source;       ///< chosen node; time = the line fit's onset t0 (ms)
  double speed = 0.0;  ///< the line fit's uniform speed 1/b, clamped to [v_min, v_max]
  int solves = 0;      ///< FIM solves of the search
};
/// Mesh-edge neighbours of every node (each list in mesh_edge_graph order), for estimate_source.
std::vector<std::vector<int>> mesh_neighbours(const geometry::TetMesh& mesh);
/// @param observed #P times (ms), used where mask != 0 (at least 2 nodes, finite); `solver` built on
///        the mesh of `neighbours`. Uses options.source_candidates, source_search_steps and v_min/v_max.
SourceEstimate estimate_source(const FimSolver& solver, const std::vector<std::vector<int>>& neighbours,
                               const Eigen::VectorXd& observed, const Eigen::VectorXi& mask,
                               const AdjointFitOptions& options = {});

/// Fits speeds, source and onset to one map. `solver` must have been built on `mesh`.
/// @param observed #P activation times (ms), used where mask != 0 (at least 2 nodes).
AdjointFitResult fit_node_speeds_adjoint(const FimSolver& solver, const geometry::TetMesh& mesh,
                                         const Eigen::VectorXd& observed, const Eigen::VectorXi& mask,
                                         const AdjointFitOptions& options = {});

}  // namespace metaeik::eikonal
