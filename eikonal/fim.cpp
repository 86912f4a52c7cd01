#include "eikonal/fim.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <cmath>
#include <exception>
#include <climits>
#include <limits>
#include <thread>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <Eigen/Geometry>
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <omp.h>

#include "core/error.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal {

namespace {

using detail::TetGeom;
constexpr double kInf = std::numeric_limits<double>::infinity();
/// Below this many mesh nodes a solve runs on one thread (results are identical either way).
constexpr int kParallelMinNodes = 8192;
/// Automatic band width as a fraction of the mean shortest-edge travel time of the tets.
constexpr double kAutoBand = 0.25;
/// Prefetch distance (entries) for the per-tet Gram in node_update.
constexpr int kPrefetch = 4;

// ---- local solver -------------------------------------------------------------------------------
// The node x is updated from a face (x_0, x_1, x_2) of a tet with times t_i. With u_i = x_i − x and
// the metric Gram Q_ij = u_iᵀ M u_j, the Hopf–Lax update is
//   T(x) = min over μ ≥ 0, Σμ = 1 of  μᵀt + sqrt(μᵀ Q μ)
// (linear interpolation on the face plus the metric distance). It is convex in μ; the interior
// stationary point satisfies (ν1 − t)ᵀ Q⁻¹ (ν1 − t) = 1 with value ν and μ ∝ Q⁻¹(ν1 − t), so
//   ν = (b + sqrt(b² − a c)) / a,  a = 1ᵀadj(Q)1, b = 1ᵀadj(Q)t, c = tᵀadj(Q)t − det Q.
// It is kept if μ ≥ 0 (the characteristic crosses the face) and ν ≥ max t (causality); otherwise
// the minimum lies on an edge (same formula in 2D) or at a vertex (t_i + sqrt(Q_ii)).
// Times are shifted by their minimum for accuracy.

inline double edge_update(double qii, double qij, double qjj, double ti, double tj) {
  const double m = std::min(ti, tj);
  const double a0 = ti - m, a1 = tj - m;
  const double det = qii * qjj - qij * qij;
  const double y0 = qjj - qij, y1 = qii - qij;  // adj(Q)·1
  const double z0 = qjj * a0 - qij * a1, z1 = qii * a1 - qij * a0;  // adj(Q)·t
  const double A = y0 + y1, B = y0 * a0 + y1 * a1, C = a0 * z0 + a1 * z1 - det;
  const double disc = B * B - A * C;
  if (disc < 0) return kInf;
  const double nu = (B + std::sqrt(disc)) / A;
  if (nu * y0 < z0 || nu * y1 < z1 || nu < std::max(a0, a1)) return kInf;
  return m + nu;
}

inline double face_update(const double* q, double t0, double t1, double t2) {
  const double m = std::min(t0, std::min(t1, t2));
  const double a0 = t0 - m, a1 = t1 - m, a2 = t2 - m;
  const double q00 = q[0], q01 = q[1], q02 = q[2], q11 = q[3], q12 = q[4], q22 = q[5];
  const double c00 = q11 * q22 - q12 * q12, c01 = q02 * q12 - q01 * q22, c02 = q01 * q12 - q02 * q11;
  const double c11 = q00 * q22 - q02 * q02, c12 = q01 * q02 - q00 * q12, c22 = q00 * q11 - q01 * q01;
  const double det = q00 * c00 + q01 * c01 + q02 * c02;
  const double y0 = c00 + c01 + c02, y1 = c01 + c11 + c12, y2 = c02 + c12 + c22;
  const double z0 = c00 * a0 + c01 * a1 + c02 * a2;
  const double z1 = c01 * a0 + c11 * a1 + c12 * a2;
  const double z2 = c02 * a0 + c12 * a1 + c22 * a2;
  const double A = y0 + y1 + y2, B = y0 * a0 + y1 * a1 + y2 * a2, C = a0 * z0 + a1 * z1 + a2 * z2 - det;
  const double disc = B * B - A * C;
  if (disc < 0) return kInf;
  const double nu = (B + std::sqrt(disc)) / A;
  if (nu * y0 < z0 || nu * y1 < z1 || nu * y2 < z2 || nu < std::max(a0, std::max(a1, a2))) return kInf;
  return m + nu;
}

/// Minimum over the face (x_0, x_1, x_2) of one tet; +inf entries of t are unknown nodes.
inline double tet_update(const double* q, double t0, double t1, double t2) {
  const bool f0 = t0 < kInf, f1 = t1 < kInf, f2 = t2 < kInf;
  if (f0 && f1 && f2) {
    const double r = face_update(q, t0, t1, t2);
    if (r < kInf) return r;  // convexity: an interior stationary point is the minimum over the face
  }
  // Edges, then the vertices not covered by a valid edge minimum (which is ≤ both its end values).
  double best = kInf;
  bool covered0 = false, covered1 = false, covered2 = false;
  if (f0 && f1) {
    const double r = edge_update(q[0], q[1], q[3], t0, t1);
    if (r < kInf) best = std::min(best, r), covered0 = covered1 = true;
  }
  if (f0 && f2) {
    const double r = edge_update(q[0], q[2], q[5], t0, t2);
    if (r < kInf) best = std::min(best, r), covered0 = covered2 = true;
  }
  if (f1 && f2) {
    const double r = edge_update(q[3], q[4], q[5], t1, t2);
    if (r < kInf) best = std::min(best, r), covered1 = covered2 = true;
  }
  if (f0 && !covered0) best = std::min(best, t0 + std::sqrt(q[0]));
  if (f1 && !covered1) best = std::min(best, t1 + std::sqrt(q[3]));
  if (f2 && !covered2) best = std::min(best, t2 + std::sqrt(q[5]));
  return best;
}

/// Gram of u_i = x_{other(k,i)} − x_k from the tet's Gram of d_j = x_j − x_0, scaled by w = 1/v²; the
/// other vertices of local vertex k are, in order, {1,2,3}, {0,2,3}, {0,1,3}, {0,1,2}.
inline void local_gram(const double* g, int k, double w, double* q) {
  const double s00 = g[0], s01 = g[1], s02 = g[2], s11 = g[3], s12 = g[4], s22 = g[5];
  switch (k) {
    case 0:
      q[0] = s00, q[1] = s01, q[2] = s02, q[3] = s11, q[4] = s12, q[5] = s22;
      break;
    case 1:
      q[0] = s00, q[1] = s00 - s01, q[2] = s00 - s02;
      q[3] = s11 - 2 * s01 + s00, q[4] = s12 - s01 - s02 + s00, q[5] = s22 - 2 * s02 + s00;
      break;
    case 2:
      q[0] = s11, q[1] = s11 - s01, q[2] = s11 - s12;
      q[3] = s00 - 2 * s01 + s11, q[4] = s02 - s01 - s12 + s11, q[5] = s22 - 2 * s12 + s11;
      break;
    default:
      q[0] = s22, q[1] = s22 - s02, q[2] = s22 - s12;
      q[3] = s00 - 2 * s02 + s22, q[4] = s01 - s02 - s12 + s22, q[5] = s11 - 2 * s12 + s22;
      break;
  }
  for (int i = 0; i < 6; ++i) q[i] *= w;
}

struct Context {
  const int* tet_offsets;
  const detail::TetEntry* tet_entries;
  const float* entry_height;
  const int* node_offsets;
  const int* node_neighbors;
  const TetGeom* tets;
  const double* slowness;
  double height_scale;
};

/// min(T[x], every tet candidate of x). Skipped, because they cannot lower T[x]: tets whose other
/// nodes are all ≥ the running minimum (every candidate is ≥ the smallest time it uses), and tets
/// none of whose other nodes changed after x was last solved (stamp `seen`; same inputs give the same
/// candidate, which T[x] already is ≤ of).
inline double node_update(const Context& c, int x, const double* T, const int* changed_at, int seen,
                          long long& evals_out) {
  long long evals = 0;
  double best = T[x];
  const int end = c.tet_offsets[x + 1];
  for (int e = c.tet_offsets[x]; e < end; ++e) {
    // The tet's Gram is the one random access; fetch it a few entries ahead.
    if (e + kPrefetch < end) __builtin_prefetch(&c.tets[c.tet_entries[e + kPrefetch].tet_k >> 2]);
    const detail::TetEntry& te = c.tet_entries[e];
    const int v0 = te.other[0], v1 = te.other[1], v2 = te.other[2];
    const double t0 = T[v0], t1 = T[v1], t2 = T[v2];
    if (std::min(t0, std::min(t1, t2)) >= best) continue;
    if (std::max(changed_at[v0], std::max(changed_at[v1], changed_at[v2])) <= seen) continue;
    const int t = te.tet_k >> 2, k = te.tet_k & 3;
    // Lower bound: smallest time + metric distance to the face's plane.
    const double tmin = std::min(t0, std::min(t1, t2));
    if (tmin + c.height_scale * c.entry_height[e] * c.slowness[t] >= best) continue;
    ++evals;
    double q[6];
    local_gram(c.tets[t].gram, k, c.slowness[t] * c.slowness[t], q);
    best = std::min(best, tet_update(q, t0, t1, t2));
  }
  evals_out += evals;
  return best;
}

// ---- exact start around point sources ------------------------------------------------------------
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
Eigen::Matrix3d tet_metric(const detail::Topology& topo, const detail::TetMetric& metric, int t) {
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

/// Working memory of the source balls.
struct BallWork {
  std::vector<int> mark;      ///< per node: index of the last source whose ball accepted it, else −1
  std::vector<int> tet_mark;  ///< per tet: index of the last source whose λ included it, else −1
  std::vector<unsigned char> is_source;
  std::vector<std::pair<double, int>> heap;
  std::vector<std::pair<int, double>> accepted;             ///< node, ball distance
  std::vector<std::pair<Eigen::Vector3d, double>> planes;  ///< inner side: n·x ≥ c
  std::vector<std::array<int, 3>> faces;
};

/// Lowers T on the ball of every source (see above); appends the nodes it gives a first finite value
/// (other than sources) to `seeded`. Sequential and deterministic.
void seed_source_balls(const detail::Topology& topo, const detail::TetMetric& metric, const std::vector<Source>& sources,
                       double radius, double* T, BallWork& w, std::vector<int>& seeded) {
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
    if (metric.own.empty()) {
      const double s0 = metric.slowness[first];
      for (const auto& [z, dz] : w.accepted)
        for (int e = topo.tet_offsets[z]; e < topo.tet_offsets[z + 1]; ++e) {
          const double ratio = metric.slowness[topo.tet_entries[e].tet_k >> 2] / s0;
          lambda2 = std::max(lambda2, ratio * ratio);
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
          lambda2 = std::max(lambda2, eig.eigenvalues().maxCoeff());
        }
    }
    const double lambda = std::sqrt(lambda2);
    for (size_t i = 1; i < w.accepted.size(); ++i) {
      const int y = w.accepted[i].first;
      const Eigen::Vector3d dx = point(y) - x0;
      const double t = sources[si].time + lambda * std::sqrt(dx.dot(M0 * dx));
      if (t < T[y]) {
        if (!(T[y] < kInf)) seeded.push_back(y);
        T[y] = t;
      }
    }
  }
}

/// Barrier of the parallel sweeps: spins briefly (two dedicated cores meet within microseconds), then
/// sleeps on a futex (on a loaded machine a spinning thread would take the core its partner needs).
/// Independent of OMP_WAIT_POLICY, whose default spins for long (2 threads on the loaded 2-core
/// machine: 10-30× slower than 1) and whose passive mode sleeps at once. The release/acquire pair on
/// `generation_` publishes every write made before the barrier.
class SweepBarrier {
 public:
  /// Spins only while there is a core per thread (else the awaited thread may need this one).
  explicit SweepBarrier(int threads) : threads_(threads), spins_(threads <= omp_get_num_procs() ? kSpins : 0) {}
  void wait() {
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1);  // seq_cst with the sleepers_ pair below: a sleeper is seen or sees the change
      if (sleepers_.load() > 0) wake();
      return;
    }
    for (int spin = 0; spin < spins_; ++spin) {
      if (generation_.load(std::memory_order_acquire) != generation) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    sleepers_.fetch_add(1);
    while (generation_.load() == generation) sleep(generation);
    sleepers_.fetch_sub(1);
  }

 private:
  static constexpr int kSpins = 800;  ///< about 20 µs (a pause is ≈ 26 ns on the 2-core test machine)
#ifdef __linux__
  // Sleeps only while the generation is still `generation` (no lost wake-up).
  void sleep(int generation) {
    syscall(SYS_futex, reinterpret_cast<int*>(&generation_), FUTEX_WAIT_PRIVATE, generation, nullptr, nullptr, 0);
  }
  void wake() {
    syscall(SYS_futex, reinterpret_cast<int*>(&generation_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }
#else
  void sleep(int) { std::this_thread::yield(); }
  void wake() {}
#endif
  const int threads_, spins_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> generation_{0};
  std::atomic<int> sleepers_{0};
};

/// One thread's share of a sweep. Padded so that threads do not share cache lines.
struct alignas(64) PerThread {
  std::vector<int> keep[2];  ///< this thread's part of the active list (current and next sweep)
  std::vector<int> converged, candidates;
  std::vector<double> candidate_times;
  double tmin = kInf;        ///< min T over keep[next]
  long long evals = 0, node_updates = 0;
};

/// Reusable working memory of one solve.
struct Workspace {
  std::vector<unsigned char> in_list, queued;
  std::vector<int> changed_at, solved_at;
  std::vector<double> next_times;
  std::vector<PerThread> per_thread;
  BallWork ball;
  std::vector<int> seeded;
};

// Only active nodes with T ≤ min(active T) + band are updated in a sweep (the others wait in the
// list), so the front is not computed far ahead of its final values and then corrected over and
// over; band = 0 updates the whole list (plain FIM). The converged solution does not depend on it.
//
// Sweep k has two phases separated by barriers, so a parallel sweep costs two synchronisations:
//   P (reads the times only): Jacobi update of the active nodes within the band from the times after
//     sweep k−1, and solves of the candidates: neighbours of the nodes that converged in sweep k−1
//     that are later than them, not in the list and stale (each once);
//   Q (each thread writes only the nodes it owns): apply the active updates (a node whose time changed
//     by ≤ tol converges and leaves the list) and the candidates (improved ones join the list).
// The active list is the concatenation of the threads' keep lists (never merged); the band's minimum
// is reduced from the threads' minima. Times written in Q_k are stamped changed_at = k, solves in P_k
// record solved_at = k − 1 (they saw every change up to it). A node only needs a new solve if one of
// its neighbours changed after its last solve (changed_at > solved_at); otherwise its value would come
// out the same. Every value depends only on the times after the previous sweep, so the result is
// bit-identical for any thread count (the list order changes, no value does).
SolveResult run_fim(const detail::Topology& topo, const detail::TetMetric& metric,
                    const std::vector<Source>& mesh_sources, const FimOptions& options, int threads, Workspace& ws) {
  const std::vector<Source> sources = detail::internal_sources(topo, mesh_sources);
  const int n = topo.num_points;
  const Context c{topo.tet_offsets.data(), topo.tet_entries.data(), topo.entry_height.data(),
                  topo.node_offsets.data(), topo.node_neighbors.data(), metric.tets,
                  metric.slowness.data(), metric.height_scale};
  SolveResult result;
  result.times = Eigen::VectorXd::Constant(n, kInf);
  double* T = result.times.data();
  const bool parallel = threads > 1 && n >= kParallelMinNodes;
  const int nt = parallel ? threads : 1;
  ws.in_list.assign(n, 0);
  ws.queued.assign(n, 0);
  ws.changed_at.assign(n, -1);
  ws.solved_at.assign(n, -1);
  ws.next_times.resize(n);
  ws.per_thread.resize(std::max<size_t>(ws.per_thread.size(), size_t(nt)));
  for (auto& p : ws.per_thread) {
    p.keep[0].clear();
    p.keep[1].clear();
    p.converged.clear();
    p.candidates.clear();
    p.tmin = kInf;
    p.evals = p.node_updates = 0;
  }
  std::vector<int>& initial = ws.per_thread[0].keep[0];
  for (const Source& s : sources) {
    T[s.node] = std::min(T[s.node], s.time);
    ws.changed_at[s.node] = 0;
  }
  for (const Source& s : sources)
    if (!ws.in_list[s.node]) {
      ws.in_list[s.node] = 1;
      initial.push_back(s.node);
    }
  if (options.source_radius > 0) {
    ws.seeded.clear();
    seed_source_balls(topo, metric, sources, options.source_radius, T, ws.ball, ws.seeded);
    for (const int y : ws.seeded)
      if (!ws.in_list[y]) {  // seeded nodes start like sources
        ws.in_list[y] = 1;
        ws.changed_at[y] = 0;
        initial.push_back(y);
      }
  }
  for (const int x : initial) ws.per_thread[0].tmin = std::min(ws.per_thread[0].tmin, T[x]);

  const double tol = options.tolerance;
  unsigned char* in_list = ws.in_list.data();
  unsigned char* queued = ws.queued.data();
  int* changed_at = ws.changed_at.data();
  int* solved_at = ws.solved_at.data();
  double* next = ws.next_times.data();
  PerThread* per = ws.per_thread.data();
  // True if a neighbour of x changed after x was last solved.
  auto stale = [&](int x) {
    const int seen = solved_at[x];
    for (int e = c.node_offsets[x]; e < c.node_offsets[x + 1]; ++e)
      if (changed_at[c.node_neighbors[e]] > seen) return true;
    return false;
  };
  const double band = options.band >= 0 ? options.band : kAutoBand * metric.mean_edge_time;
  int final_iterations = 0;
  bool final_converged = false;
  SweepBarrier barrier(nt);

  // The sweep loop, run by each of `nt` threads (tid 0 alone when serial). `cur` selects the keep
  // buffers of the current list. Everything a thread decides on (loop exit, band, list offsets) it
  // computes from data that all threads see identically after the barrier.
  auto sweeps = [&](int tid, bool parallel) {
    PerThread& P = per[tid];
    int cur = 0, iterations = 0;
    std::vector<int> offsets(nt + 1), conv_offsets(nt + 1);
    for (;;) {
      offsets[0] = conv_offsets[0] = 0;
      double tmin = kInf;
      for (int t = 0; t < nt; ++t) {
        offsets[t + 1] = offsets[t] + int(per[t].keep[cur].size());
        conv_offsets[t + 1] = conv_offsets[t] + int(per[t].converged.size());
        tmin = std::min(tmin, per[t].tmin);
      }
      const int na = offsets[nt], pending = conv_offsets[nt];
      if (na + pending == 0 || iterations >= options.max_iterations) {
        if (tid == 0) {
          final_iterations = iterations;
          final_converged = na + pending == 0;
        }
        return;
      }
      ++iterations;
      const int stamp = iterations;
      const double theta = band > 0 ? tmin + band : kInf;
      auto node_at = [&](int i) {
        int t = 0;
        while (i >= offsets[t + 1]) ++t;
        return per[t].keep[cur][i - offsets[t]];
      };
      // ---- P: reads times only.
      auto update_active = [&](int i) {
        const int x = node_at(i);
        if (T[x] <= theta && stale(x)) {
          next[i] = node_update(c, x, T, changed_at, solved_at[x], P.evals);
          solved_at[x] = stamp - 1;
          ++P.node_updates;
        } else {
          next[i] = T[x];
        }
      };
      if (parallel) {
#pragma omp for schedule(dynamic, 32) nowait
        for (int i = 0; i < na; ++i) update_active(i);
      } else {
        for (int i = 0; i < na; ++i) update_active(i);
      }
      // Candidates: the converged nodes of all threads are shared out dynamically too (the candidate
      // solves are about half the work); a candidate goes to whichever thread claims it first.
      P.candidates.clear();
      P.candidate_times.clear();
      auto gather_and_solve = [&](int i) {
        int t = 0;
        while (i >= conv_offsets[t + 1]) ++t;
        const int x = per[t].converged[i - conv_offsets[t]];
        const double tx = T[x];
        for (int e = c.node_offsets[x]; e < c.node_offsets[x + 1]; ++e) {
          const int y = c.node_neighbors[e];
          if (!in_list[y] && T[y] > tx && stale(y) && !__atomic_exchange_n(&queued[y], 1, __ATOMIC_RELAXED)) {
            P.candidates.push_back(y);
            P.candidate_times.push_back(node_update(c, y, T, changed_at, solved_at[y], P.evals));
          }
        }
      };
      if (parallel) {
#pragma omp for schedule(dynamic, 8) nowait
        for (int i = 0; i < pending; ++i) gather_and_solve(i);
      } else {
        for (int i = 0; i < pending; ++i) gather_and_solve(i);
      }
      P.node_updates += P.candidates.size();
      if (parallel) barrier.wait();
      // ---- Q: each thread writes the nodes it owns.
      std::vector<int>& keep = P.keep[1 - cur];
      keep.clear();
      P.converged.clear();  // safe: every thread has read the converged lists before the barrier
      P.tmin = kInf;
      auto apply_active = [&](int i) {
        const int x = node_at(i);
        const double change = T[x] <= theta ? T[x] - next[i] : kInf;
        if (change > 0 && change < kInf) {
          T[x] = next[i];
          changed_at[x] = stamp;
        }
        if (change <= tol) {
          in_list[x] = 0;
          P.converged.push_back(x);
        } else {
          keep.push_back(x);
          P.tmin = std::min(P.tmin, T[x]);
        }
      };
      if (parallel) {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < na; ++i) apply_active(i);
      } else {
        for (int i = 0; i < na; ++i) apply_active(i);
      }
      for (size_t j = 0; j < P.candidates.size(); ++j) {
        const int y = P.candidates[j];
        queued[y] = 0;
        solved_at[y] = stamp - 1;  // written here, not in P: P of other threads reads it
        if (P.candidate_times[j] < T[y]) {
          T[y] = P.candidate_times[j];
          changed_at[y] = stamp;
          in_list[y] = 1;
          keep.push_back(y);
          P.tmin = std::min(P.tmin, T[y]);
        }
      }
      cur = 1 - cur;
      if (parallel) barrier.wait();
    }
  };
  if (parallel) {
#pragma omp parallel num_threads(nt)
    {
      // OpenMP may give a smaller team (nested region, thread limit): then thread 0 sweeps alone (the
      // other threads' lists stay empty), with the same result.
      if (omp_get_num_threads() == nt)
        sweeps(omp_get_thread_num(), true);
      else if (omp_get_thread_num() == 0)
        sweeps(0, false);
    }
  } else {  // no OpenMP construct at all: safe inside solve_batch's threads
    sweeps(0, false);
  }
  result.times = detail::external_times(topo, result.times);
  result.stats.iterations = final_iterations;
  result.stats.converged = final_converged;
  for (int t = 0; t < nt; ++t) {
    result.stats.local_updates += per[t].evals;
    result.stats.node_updates += per[t].node_updates;
  }
  return result;
}

}  // namespace

SpeedField SpeedField::uniform(const geometry::TetMesh& mesh, double v) {
  SpeedField f;
  f.location = Location::kNode;
  f.speed = Eigen::VectorXd::Constant(mesh.num_points(), v);
  return f;
}

struct FimSolver::Impl {
  detail::Topology topo;
  FimOptions options;
};

FimSolver::FimSolver(const geometry::TetMesh& mesh, FimOptions options) : impl_(std::make_unique<Impl>()) {
  detail::check_options(options);
  impl_->options = options;
  impl_->topo = detail::build_topology(mesh);
}

FimSolver::~FimSolver() = default;
FimSolver::FimSolver(FimSolver&&) noexcept = default;

const FimOptions& FimSolver::options() const { return impl_->options; }

SolveResult FimSolver::solve(const SpeedField& speed, const std::vector<Source>& sources) const {
  detail::check_sources(impl_->topo, sources);
  const detail::TetMetric metric = detail::build_metric(impl_->topo, speed);
  Workspace ws;
  return run_fim(impl_->topo, metric, sources, impl_->options, detail::resolve_threads(impl_->options.threads), ws);
}

std::vector<SolveResult> FimSolver::solve_batch(const std::vector<SpeedField>& speeds,
                                                const std::vector<BatchItem>& items) const {
  const detail::Topology& topo = impl_->topo;
  detail::check_batch(topo, speeds, items);
  std::vector<SolveResult> results(items.size());
  const int count = int(items.size());
  const int threads = detail::resolve_threads(impl_->options.threads);
  // Metrics of the speed fields used by more than one item are built once, in parallel.
  std::vector<int> uses(speeds.size(), 0);
  for (const auto& item : items) ++uses[item.speed];
  std::vector<int> shared;
  for (size_t s = 0; s < speeds.size(); ++s)
    if (uses[s] > 1) shared.push_back(int(s));
  std::vector<detail::TetMetric> metrics(speeds.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (shared.size() > 1)
  for (size_t j = 0; j < shared.size(); ++j) metrics[shared[j]] = detail::build_metric(topo, speeds[shared[j]]);
  std::exception_ptr error;
#pragma omp parallel num_threads(threads) if (count > 1)
  {
    Workspace ws;
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < count; ++i) {
      try {
        const int s = items[i].speed;
        if (uses[s] > 1) {
          results[i] = run_fim(topo, metrics[s], items[i].sources, impl_->options, 1, ws);
        } else {
          const detail::TetMetric metric = detail::build_metric(topo, speeds[s]);
          results[i] = run_fim(topo, metric, items[i].sources, impl_->options, 1, ws);
        }
      } catch (...) {
#pragma omp critical(metaeik_fim_batch_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  return results;
}

SolveResult solve(const geometry::TetMesh& mesh, const SpeedField& speed, const std::vector<Source>& sources,
                  FimOptions options) {
  return FimSolver(mesh, options).solve(speed, sources);
}

}  // namespace metaeik::eikonal
