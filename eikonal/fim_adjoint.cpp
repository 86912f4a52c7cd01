// Adjoint of the FIM solve: FimSolver::vjp, the vector–Jacobian product of a recorded solve
// (geodesic back-propagation, Grandits et al. 2021).
//
// Every node's converged time comes from exactly one recorded origin (FimSolver::solve with a
// SolveRecord): its own source onset, t0 + λ·sqrt(ΔxᵀM₀Δx) from a source's exact start ball, or one
// candidate (face, edge, vertex) of one incident tet,
//   T_x = μ*ᵀ t + sqrt(μ*ᵀ Q μ*),  Q = s_t² Q̂,  μ* the minimiser of the local Hopf–Lax problem,
// with t the times of the 1–3 nodes the candidate uses, all earlier than T_x (causality). By the
// envelope theorem ∂T_x/∂t_i = μ*_i and ∂T_x/∂s_t = sqrt(μ*ᵀQμ*)/s_t (s_t the tet's slowness); the
// anisotropic metric M = s_t²(f fᵀ + ρ⁻²(I − f fᵀ)) adds ∂T_x/∂ρ = −s_t²ρ⁻³ uᵀ(I − f fᵀ)u / d with
// u = Σ μ*_i (x_i − x) and d = sqrt(uᵀMu). The Jacobian of T is therefore sparse and triangular in
// arrival order, and ∂L/∂(inputs) = λᵀ ∂F/∂(inputs) with the adjoint λ = ∂L/∂T + Σ_children μ λ_child,
// accumulated by one walk from the latest nodes back to the sources: a node is processed once every
// node whose time it entered is done (Kahn's order on the recorded dependency graph, O(#P), no sort
// and no matrix). Then the per-tet slowness (and ρ) adjoints are mapped to the field's parameters:
// per-node speeds enter a tet as the harmonic mean, s_t = ¼ Σ 1/v_i; v_f = 1/s_t, v_s = ρ/s_t.
//
// What the derivative is where T is not differentiable:
//  - Ties and kinks. T is a min over tets, candidates and sources. Where two of them give the same
//    time (to rounding) the recorded one is the first that was strictly lower in the solve (tet order
//    of the node's star; the first source in the given order for equal onsets at one node). The
//    gradient is then the one-sided derivative of that branch, i.e. the gradient of T in the
//    directions that keep this branch the minimum. Exactly symmetric meshes and sources have such
//    ties on whole lines; any irregular mesh has them only on sets of measure zero in parameter
//    space. Face ↔ edge ↔ vertex transitions inside one tet are not kinks (the value of a convex
//    problem whose active constraint switches is C¹).
//  - Start ball (FimOptions::source_radius > 0). A ball node keeps t0 + λ·sqrt(ΔxᵀM₀Δx) where the
//    scheme is later; M₀ is the metric of the source's first tet and λ² the largest eigenvalue of
//    M₀⁻¹M_t over the ball's tets. Isotropic: T = t0 + max_t(s_t)·|Δx| over the ball, whose
//    derivative goes to the slowest tet (ties: the first tet of the source when no tet is slower than
//    it, else the first slowest in the ball's order). In a homogeneous ball every tet ties, so the
//    gradient with respect to one tet's (or node's) speed inside the ball is one-sided: it is exact
//    for perturbations that slow the source's first tet at least as much as any other ball tet (e.g.
//    a common scaling of all speeds) and misses the change when a single other ball tet is slowed.
//    Anisotropic: the derivative of the largest generalised eigenvalue, vᵀ(∂M_t − λ²∂M₀)v with
//    M_t v = λ²M₀v, vᵀM₀v = 1, plus the ∂M₀ term of sqrt(ΔxᵀM₀Δx). The ball's node set depends on
//    geometry only, so it contributes no derivative.
//  - Nodes no source reaches have T = +inf and no derivative; a non-zero ∂L/∂T there is an error.
//  - The record's times are converged to FimOptions::tolerance; the weights μ* are evaluated at the
//    final times, so the gradient is that of the discrete solution up to O(tolerance) effects.

#include <Eigen/Eigenvalues>
#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "eikonal/fim.hpp"
#include "eikonal/fim_record.hpp"

namespace metaeik::eikonal {

SolveRecord::SolveRecord() = default;
SolveRecord::~SolveRecord() = default;
SolveRecord::SolveRecord(SolveRecord&&) noexcept = default;
SolveRecord& SolveRecord::operator=(SolveRecord&&) noexcept = default;
bool SolveRecord::empty() const { return !data_; }

namespace {

using detail::Candidate;

/// Adjoint accumulators per tet (internal order): ∂L/∂s_t and, anisotropic, ∂L/∂ρ through tet t.
struct TetAdjoint {
  std::vector<double> slowness, ratio;
};

struct Walk {
  const detail::Topology& topo;
  const SolveRecord::Data& rec;
  bool anisotropic;
  double rho;

  Eigen::Vector3d point(int i) const { return topo.points.row(i).transpose(); }
  Eigen::Vector3d fibre(int t) const {
    return rec.speed.fibers.row(topo.tet_order[t]).normalized().transpose();
  }
  /// I − f fᵀ of tet t.
  Eigen::Matrix3d transverse(int t) const {
    const Eigen::Vector3d f = fibre(t);
    return Eigen::Matrix3d::Identity() - f * f.transpose();
  }

  /// Node x took candidate `kind` of tet entry e: pushes μ*·a to the nodes it used, the slowness (and
  /// ρ) terms to the tet; returns how many upstream nodes it used (through `used`).
  int tet_candidate(int x, const detail::Parent& p, double a, double* adjoint, TetAdjoint& g,
                    int* used) const {
    const detail::TetEntry& te = topo.tet_entries[p.index];
    if (a == 0.0) {  // nothing to propagate; only the walk's order needs the upstream nodes
      int count = 0;
      for (int i = 0; i < 3; ++i)
        if (detail::candidate_uses(p.kind, i)) used[count++] = te.other[i];
      return count;
    }
    const int t = te.tet_k >> 2, k = te.tet_k & 3;
    const double s = rec.metric.slowness[t];
    double q[6];
    detail::local_gram(rec.metric.tets[t].gram, k, s * s, q);
    const double times[3] = {rec.times[te.other[0]], rec.times[te.other[1]], rec.times[te.other[2]]};
    double mu[3];
    detail::candidate_weights(p.kind, q, times, mu);
    const double d2 = mu[0] * mu[0] * q[0] + mu[1] * mu[1] * q[3] + mu[2] * mu[2] * q[5] +
                      2.0 * (mu[0] * mu[1] * q[1] + mu[0] * mu[2] * q[2] + mu[1] * mu[2] * q[4]);
    const double d = std::sqrt(std::max(0.0, d2));
    int count = 0;
    for (int i = 0; i < 3; ++i)
      if (detail::candidate_uses(p.kind, i)) {
        adjoint[te.other[i]] += mu[i] * a;
        used[count++] = te.other[i];
      }
    g.slowness[t] += a * d / s;
    if (anisotropic && d > 0) {
      Eigen::Vector3d u = Eigen::Vector3d::Zero();
      for (int i = 0; i < 3; ++i) u += mu[i] * (point(te.other[i]) - point(x));
      g.ratio[t] += a * (-s * s / (rho * rho * rho) * u.dot(transverse(t) * u) / d);
    }
    return count;
  }

  /// Node y took the start ball of source j.
  void ball(int y, int j, double a, TetAdjoint& g) const {
    const detail::BallInfo& b = rec.balls[j];
    const int src = topo.node_rank[rec.sources[j].node];
    const Eigen::Vector3d dx = point(y) - point(src);
    if (!anisotropic) {  // T = t0 + max_t(s_t)·|Δx|
      g.slowness[b.argmax_tet >= 0 ? b.argmax_tet : b.first_tet] += a * dx.norm();
      return;
    }
    const int f = b.first_tet;
    const double s0 = rec.metric.slowness[f], lambda = b.lambda, r3 = rho * rho * rho;
    const Eigen::Matrix3d M0 = detail::tet_metric(topo, rec.metric, f), P0 = transverse(f);
    const double d0 = std::sqrt(dx.dot(M0 * dx));
    if (d0 <= 0) return;
    // λ·sqrt(ΔxᵀM₀Δx): ∂M₀/∂s₀ = 2M₀/s₀, ∂M₀/∂ρ = −2s₀²ρ⁻³P₀.
    g.slowness[f] += a * lambda * d0 / s0;
    g.ratio[f] += a * lambda / (2 * d0) * (-2 * s0 * s0 / r3 * dx.dot(P0 * dx));
    if (b.argmax_tet < 0) return;
    // ∂λ² = vᵀ(∂M_t − λ²∂M₀)v, ∂T = d₀/(2λ)·∂λ².
    const int t = b.argmax_tet;
    const double st = rec.metric.slowness[t];
    const Eigen::Matrix3d Mt = detail::tet_metric(topo, rec.metric, t);
    Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::Matrix3d> eig(Mt, M0);
    const Eigen::Vector3d v = eig.eigenvectors().col(2);  // largest; vᵀM₀v = 1
    const double l2 = lambda * lambda, kk = a * d0 / (2 * lambda);
    g.slowness[t] += kk * 2 * v.dot(Mt * v) / st;
    g.ratio[t] += kk * (-2 * st * st / r3 * v.dot(transverse(t) * v));
    g.slowness[f] += kk * (-l2) * 2 * v.dot(M0 * v) / s0;
    g.ratio[f] += kk * (-l2) * (-2 * s0 * s0 / r3 * v.dot(P0 * v));
  }
};

/// Per-tet adjoints → ∂L/∂(the speed field's parameters).
SolveGradient field_gradient(const detail::Topology& topo, const SolveRecord::Data& rec, const TetAdjoint& g,
                             Eigen::VectorXd onset) {
  const SpeedField& field = rec.speed;
  const bool per_node = field.location == SpeedField::Location::kNode;
  const bool anisotropic = field.fibers.rows() > 0;
  const double rho = anisotropic ? field.transverse_ratio : 1.0;
  const Eigen::Index size = field.speed.size();
  SolveGradient out;
  out.onset = std::move(onset);
  Eigen::VectorXd fibre = Eigen::VectorXd::Zero(size), sheet = Eigen::VectorXd::Zero(size);
  for (int t = 0; t < topo.num_tets; ++t) {
    const double s = rec.metric.slowness[t];
    // v_f = 1/s, v_s = ρ/s, i.e. s = 1/v_f, ρ_t = v_s/v_f.
    const double g_vf = -s * s * g.slowness[t] - (anisotropic ? rho * s * g.ratio[t] : 0.0);
    const double g_vs = anisotropic ? s * g.ratio[t] : 0.0;
    if (!per_node) {
      fibre[topo.tet_order[t]] += g_vf;
      sheet[topo.tet_order[t]] += g_vs;
      continue;
    }
    // v_f,t = harmonic mean of the node speeds: ∂v_f,t/∂v_i = v_f,t² / (4 v_i²) (v_s likewise).
    for (const int i : topo.tet_nodes[t]) {
      const int node = topo.node_order[i];
      const double v = field.speed[node];
      const double factor = 1.0 / (4.0 * s * s * v * v);
      fibre[node] += g_vf * factor;
      sheet[node] += g_vs * factor;
    }
  }
  out.speed = fibre + rho * sheet;
  if (anisotropic) {
    out.transverse_ratio = field.speed.dot(sheet);
    out.fibre_speed = std::move(fibre);
    out.sheet_speed = std::move(sheet);
  }
  return out;
}

}  // namespace

SolveGradient FimSolver::vjp(const SolveRecord& record, const Eigen::VectorXd& dL_dT) const {
  METAEIK_CHECK(!record.empty(), "vjp: no recorded solve (call solve(speed, sources, record) first)");
  const SolveRecord::Data& rec = *record.data_;
  const detail::Topology& topo = impl_->topo;
  METAEIK_CHECK(rec.owner == impl_.get(), "vjp: the record was made by another FimSolver");
  METAEIK_CHECK(rec.stats.converged, "vjp: the recorded solve did not converge within max_iterations = "
                                         << impl_->options.max_iterations << " sweeps; no gradient");
  const int n = topo.num_points;
  METAEIK_CHECK(dL_dT.size() == n,
                "vjp: dL/dT has " << dL_dT.size() << " values, expected " << n << " (one per node)");
  std::vector<double> adjoint(n);
  for (int i = 0; i < n; ++i) {
    const int node = topo.node_order[i];
    const double g = dL_dT[node];
    METAEIK_CHECK(std::isfinite(g), "vjp: dL/dT at node " << node << " is not finite (" << g << ")");
    METAEIK_CHECK(rec.parents[i].kind != Candidate::kNone || g == 0.0,
                  "vjp: node " << node << " is not reached by any source (T = inf) but has dL/dT = " << g);
    adjoint[i] = g;
  }

  // Kahn's order on the dependency graph: a node is processed after every node whose time used it.
  std::vector<int> pending(n, 0);
  int reached = 0;
  for (int x = 0; x < n; ++x) {
    const detail::Parent& p = rec.parents[x];
    if (p.kind == Candidate::kNone) continue;
    ++reached;
    if (p.kind == Candidate::kSource || p.kind == Candidate::kBall) continue;
    const detail::TetEntry& te = topo.tet_entries[p.index];
    for (int i = 0; i < 3; ++i)
      if (detail::candidate_uses(p.kind, i)) ++pending[te.other[i]];
  }
  std::vector<int> ready;
  ready.reserve(n);
  for (int x = 0; x < n; ++x)
    if (rec.parents[x].kind != Candidate::kNone && pending[x] == 0) ready.push_back(x);

  const bool anisotropic = rec.speed.fibers.rows() > 0;
  const Walk walk{topo, rec, anisotropic, anisotropic ? rec.speed.transverse_ratio : 1.0};
  TetAdjoint g;
  g.slowness.assign(topo.num_tets, 0.0);
  if (anisotropic) g.ratio.assign(topo.num_tets, 0.0);
  Eigen::VectorXd onset = Eigen::VectorXd::Zero(Eigen::Index(rec.sources.size()));
  int processed = 0;
  while (!ready.empty()) {
    const int x = ready.back();
    ready.pop_back();
    ++processed;
    const detail::Parent& p = rec.parents[x];
    const double a = adjoint[x];
    if (p.kind == Candidate::kSource) {
      onset[p.index] += a;
      continue;
    }
    if (p.kind == Candidate::kBall) {
      onset[p.index] += a;
      if (a != 0.0) walk.ball(x, p.index, a, g);
      continue;
    }
    int used[3];
    const int count = walk.tet_candidate(x, p, a, adjoint.data(), g, used);
    for (int i = 0; i < count; ++i)
      if (--pending[used[i]] == 0) ready.push_back(used[i]);
  }
  METAEIK_CHECK(processed == reached, "vjp: the recorded dependencies of "
                                          << reached - processed << " nodes form a cycle (degenerate tets?)");
  return field_gradient(topo, rec, g, std::move(onset));
}

}  // namespace metaeik::eikonal
