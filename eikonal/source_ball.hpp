#pragma once
// Internal to eikonal/: the exact start ball around point sources (FimOptions::source_radius), shared by
// the forward solve (eikonal/fim.cpp) and its adjoint (eikonal/fim_adjoint.cpp). See source_ball.cpp.

#include <Eigen/Core>
#include <array>
#include <utility>
#include <vector>

#include "eikonal/local_update.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal::detail {

/// Metric M = D⁻¹ (ms²/mm²) of tet t.
Eigen::Matrix3d tet_metric(const Topology& topo, const TetMetric& metric, int t);

/// Working memory of the source balls.
struct BallWork {
  std::vector<int> mark;      ///< per node: index of the last source whose ball accepted it, else −1
  std::vector<int> tet_mark;  ///< per tet: index of the last source whose λ included it, else −1
  std::vector<unsigned char> is_source;
  std::vector<std::pair<double, int>> heap;
  std::vector<std::pair<int, double>> accepted;            ///< node, ball distance
  std::vector<std::pair<Eigen::Vector3d, double>> planes;  ///< inner side: n·x ≥ c
  std::vector<std::array<int, 3>> faces;
};

/// How one source's ball set its nodes: T(y) = t0 + λ·sqrt(ΔxᵀM₀Δx), M₀ the metric of `first_tet`,
/// λ² = the largest eigenvalue of M₀⁻¹M_t over the ball's tets, reached at `argmax_tet` (−1: no tet
/// exceeds 1, λ = 1).
struct BallInfo {
  int first_tet = -1;  ///< −1: this source has no ball (fewer than two nodes accepted)
  int argmax_tet = -1;
  double lambda = 1.0;
};

/// Lowers T on the ball of every source; appends the nodes it gives a first finite value (other than
/// sources) to `seeded`. With `parent` (#P, may be null) every node it lowers records {source, kBall};
/// with `balls` (may be null) it is resized to #sources and filled. Sequential and deterministic.
void seed_source_balls(const Topology& topo, const TetMetric& metric, const std::vector<Source>& sources,
                       double radius, double* T, BallWork& w, std::vector<int>& seeded,
                       Parent* parent = nullptr, std::vector<BallInfo>* balls = nullptr);

}  // namespace metaeik::eikonal::detail
