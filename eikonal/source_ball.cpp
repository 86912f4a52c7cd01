#include "eikonal/source_ball.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <functional>

namespace metaeik::eikonal::detail {

// The exact start ball around point sources (FimOptions::source_radius).
//
// A first-order scheme resolves the point-source singularity poorly: the fronts are most curved there
// and the linear interpolation over faces overestimates T most. Where the metric M is constant and
// the domain convex around a source, the exact solution is T = t0 + sqrt(ΔxᵀMΔx). The nodes of a
// ball around each source get as initial value the travel time along the straight segment bounded
// from above: t0 + λ·sqrt(ΔxᵀM₀Δx), M₀ the metric of the source's first tet and λ² the largest
// eigenvalue of M₀⁻¹M_t over the tets t of the ball (λ = 1, the exact solution, in a homogeneous
// ball). They are upper bounds of the true arrival time and are updated like any node afterwards, so
// the solve only takes them where the scheme is later (more wrong). The ball itself depends on the
// geometry only (radius, node order, convexity; an ellipsoid of the fibre metric's shape when
// anisotropic), never on the speeds, so the result stays
// continuous in the speed field (speed fitting relies on that).
// The ball grows through mesh edges in order of distance and stops at the radius, at the
// first other source node (clustered sources, e.g. a face of sources, form no point singularity), and
// at the first node that makes the set non-convex (a boundary face of an accepted node with an
// accepted node on its outer side), so the segment from the source to every accepted node lies in
// the tets of the ball.

/// Metric M = D⁻¹ (ms²/mm²) of tet t.
Eigen::Matrix3d tet_metric(const Topology& topo, const TetMetric& metric, int t) {
  const double w = metric.slowness[t] * metric.slowness[t];
  if (metric.own.empty()) return w * Eigen::Matrix3d::Identity();  // isotropic: the topology's Euclidean Gram
  // Gram G = Eᵀ M₀ E for the edge vectors E = [d1 d2 d3]; M₀ = E⁻ᵀ G E⁻¹.
  const auto& tv = topo.tet_nodes[t];
  Eigen::Matrix3d E;
  for (int i = 0; i < 3; ++i) E.col(i) = (topo.points.row(tv[i + 1]) - topo.points.row(tv[0])).transpose();
  const double* g = metric.tets[t].gram;
  Eigen::Matrix3d G;
  G << g[0], g[1], g[2], g[1], g[3], g[4], g[2], g[4], g[5];
  const Eigen::Matrix3d Einv = E.inverse();
  const Eigen::Matrix3d M = Einv.transpose() * G * Einv;
  return w * 0.5 * (M + M.transpose());
}

void seed_source_balls(const Topology& topo, const TetMetric& metric, const std::vector<Source>& sources,
                       double radius, double* T, BallWork& w, std::vector<int>& seeded, Parent* parent,
                       std::vector<BallInfo>* balls) {
  if (balls) balls->assign(sources.size(), BallInfo{});
  w.mark.assign(topo.num_points, -1);
  w.tet_mark.assign(topo.num_tets, -1);
  w.is_source.assign(topo.num_points, 0);
  for (const Source& s : sources) w.is_source[s.node] = 1;
  const auto point = [&](int i) -> Eigen::Vector3d { return topo.points.row(i).transpose(); };
  for (size_t si = 0; si < sources.size(); ++si) {
    const int src = sources[si].node;
    const int mark = int(si);
    const Eigen::Vector3d x0 = point(src);
    // Local cell size h = (6 · mean volume of the source's tets)^⅓ (the cell side of a structured grid).
    double volume = 0.0;
    for (int e = topo.tet_offsets[src]; e < topo.tet_offsets[src + 1]; ++e) {
      const auto& tv = topo.tet_nodes[topo.tet_entries[e].tet_k >> 2];
      const Eigen::Vector3d p0 = point(tv[0]);
      volume += std::abs((point(tv[1]) - p0).dot((point(tv[2]) - p0).cross(point(tv[3]) - p0))) / 6.0;
    }
    const double h = std::cbrt(6.0 * volume / (topo.tet_offsets[src + 1] - topo.tet_offsets[src]));
    const double r_max = radius * h, tol = 1e-6 * h;  // mm
    // The ball is an ellipsoid of the source tet's metric shape S = M₀/slowness² (the identity when
    // isotropic; set by the fibre and the transverse ratio, not by the speeds), scaled to det S = 1.
    const int first = topo.tet_entries[topo.tet_offsets[src]].tet_k >> 2;
    const Eigen::Matrix3d M0 = tet_metric(topo, metric, first);
    Eigen::Matrix3d shape = Eigen::Matrix3d::Identity();
    if (!metric.own.empty()) {
      shape = M0 / (metric.slowness[first] * metric.slowness[first]);
      shape /= std::cbrt(shape.determinant());
    }
    const auto ball_distance = [&](int y) {
      const Eigen::Vector3d dx = point(y) - x0;
      return std::sqrt(dx.dot(shape * dx));
    };
    w.accepted.clear();
    w.planes.clear();
    w.heap.clear();
    // Accepts y if the set stays convex: y on the inner side of every plane so far, and every accepted
    // node on the inner side of y's boundary faces (faces of y's star that belong to one tet only).
    const auto convex_with = [&](int y) {
      const Eigen::Vector3d xy = point(y);
      for (const auto& [n, c] : w.planes)
        if (n.dot(xy) < c - tol) return false;
      w.faces.clear();
      for (int e = topo.tet_offsets[y]; e < topo.tet_offsets[y + 1]; ++e) {
        const auto& o = topo.tet_entries[e].other;
        w.faces.push_back({std::min(o[0], o[1]), std::max(o[0], o[1]), o[2]});
        w.faces.push_back({std::min(o[0], o[2]), std::max(o[0], o[2]), o[1]});
        w.faces.push_back({std::min(o[1], o[2]), std::max(o[1], o[2]), o[0]});
      }
      std::sort(w.faces.begin(), w.faces.end());
      const auto same_face = [&](size_t i, size_t j) {
        return w.faces[i][0] == w.faces[j][0] && w.faces[i][1] == w.faces[j][1];
      };
      for (size_t i = 0; i < w.faces.size(); ++i) {
        if ((i > 0 && same_face(i - 1, i)) || (i + 1 < w.faces.size() && same_face(i, i + 1))) continue;
        // Boundary face (y, a, b); the tet's fourth vertex is on the inner side.
        const auto& f = w.faces[i];
        Eigen::Vector3d n = (point(f[0]) - xy).cross(point(f[1]) - xy).normalized();
        if (n.dot(point(f[2]) - xy) < 0) n = -n;
        const double c = n.dot(xy);
        bool known = false;
        for (const auto& [n2, c2] : w.planes)
          if (n2.dot(n) > 1 - 1e-12 && std::abs(c2 - c) <= tol) known = true;
        if (known) continue;
        for (const auto& [z, dz] : w.accepted)
          if (n.dot(point(z)) < c - tol) return false;
        w.planes.emplace_back(n, c);
      }
      return true;
    };
    const auto push_neighbours = [&](int x) {
      for (int e = topo.node_offsets[x]; e < topo.node_offsets[x + 1]; ++e) {
        const int y = topo.node_neighbors[e];
        if (w.mark[y] != mark) {
          w.heap.emplace_back(ball_distance(y), y);
          std::push_heap(w.heap.begin(), w.heap.end(), std::greater<>());
        }
      }
    };
    if (!convex_with(src)) continue;
    w.mark[src] = mark;
    w.accepted.emplace_back(src, 0.0);
    push_neighbours(src);
    while (!w.heap.empty()) {
      std::pop_heap(w.heap.begin(), w.heap.end(), std::greater<>());
      const auto [d, y] = w.heap.back();
      w.heap.pop_back();
      if (w.mark[y] == mark) continue;
      if (d > r_max || w.is_source[y] || !convex_with(y)) break;
      w.mark[y] = mark;
      w.accepted.emplace_back(y, d);
      push_neighbours(y);
    }
    if (w.accepted.size() < 2) continue;
    // λ² = max over the ball's tets of the largest eigenvalue of M₀⁻¹M_t (= L⁻¹M_tL⁻ᵀ, M₀ = LLᵀ).
    double lambda2 = 1.0;
    int argmax = -1;  // the tet that sets λ (−1: λ = 1)
    if (metric.own.empty()) {
      const double s0 = metric.slowness[first];
      for (const auto& [z, dz] : w.accepted)
        for (int e = topo.tet_offsets[z]; e < topo.tet_offsets[z + 1]; ++e) {
          const int t = topo.tet_entries[e].tet_k >> 2;
          const double ratio = metric.slowness[t] / s0;
          if (ratio * ratio > lambda2) lambda2 = ratio * ratio, argmax = t;
        }
    } else {
      const Eigen::LLT<Eigen::Matrix3d> llt(M0);
      const Eigen::Matrix3d Linv = llt.matrixL().solve(Eigen::Matrix3d::Identity());
      for (const auto& [z, dz] : w.accepted)
        for (int e = topo.tet_offsets[z]; e < topo.tet_offsets[z + 1]; ++e) {
          const int t = topo.tet_entries[e].tet_k >> 2;
          if (w.tet_mark[t] == mark) continue;
          w.tet_mark[t] = mark;
          const Eigen::Matrix3d Mt = tet_metric(topo, metric, t);
          if ((Mt - M0).cwiseAbs().maxCoeff() <= 1e-12 * M0.cwiseAbs().maxCoeff()) continue;
          Eigen::Matrix3d A = Linv * Mt * Linv.transpose();
          A = 0.5 * (A + A.transpose());
          Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig;
          eig.computeDirect(A, Eigen::EigenvaluesOnly);
          if (eig.eigenvalues().maxCoeff() > lambda2) lambda2 = eig.eigenvalues().maxCoeff(), argmax = t;
        }
    }
    const double lambda = std::sqrt(lambda2);
    if (balls) (*balls)[si] = BallInfo{first, argmax, lambda};
    for (size_t i = 1; i < w.accepted.size(); ++i) {
      const int y = w.accepted[i].first;
      const Eigen::Vector3d dx = point(y) - x0;
      const double t = sources[si].time + lambda * std::sqrt(dx.dot(M0 * dx));
      if (t < T[y]) {
        if (!(T[y] < kInfTime)) seeded.push_back(y);
        T[y] = t;
        if (parent) parent[y] = Parent{int(si), Candidate::kBall};
      }
    }
  }
}

}  // namespace metaeik::eikonal::detail
