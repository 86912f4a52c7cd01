#pragma once
// Fast iterative method (Fu, Kirby & Whitaker 2013) for |∇T|_D = 1 on tetrahedral meshes.
// API contract used by datasets, baselines and the CLI; see eikonal/fim.cpp. The adjoint (vector–Jacobian
// product of a recorded solve) is in eikonal/fim_adjoint.cpp.

#include <Eigen/Core>
#include <memory>
#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::eikonal {

/// A source node with its onset time (ms).
struct Source {
  int node = 0;
  double time = 0.0;
};

/// Conduction velocity. Isotropic: D = v² I. Anisotropic (fibers non-empty):
/// D = v_f² f fᵀ + v_s² (I − f fᵀ) with v_f = speed, v_s = speed · transverse_ratio.
/// Per-node speeds enter each tet as the harmonic mean of its four node speeds (mean slowness);
/// the solvers use one constant metric M = D⁻¹ per tet.
struct SpeedField {
  enum class Location { kNode, kTet };
  Location location = Location::kNode;
  Eigen::VectorXd speed;          ///< #P (kNode) or #T (kTet) along-fibre/isotropic speed, mm/ms
  geometry::Points fibers;        ///< #T×3 fibre directions (normalised internally); empty = isotropic
  double transverse_ratio = 1.0;  ///< v_s / v_f for the anisotropic case, > 0 (usually ≤ 1)

  static SpeedField uniform(const geometry::TetMesh& mesh, double v);
};

struct FimOptions {
  double tolerance = 1e-6;      ///< a node converges when an update changes T by no more than this (ms)
  int max_iterations = 100000;  ///< hard cap on active-list sweeps
  int threads = 0;              ///< 0 = OpenMP default
  double band = -1.0;  ///< active band (ms): a sweep updates only active nodes with T ≤ min active T + band;
                       ///< < 0 = automatic (¼ of the mean shortest-edge travel time), 0 = whole list
  double source_radius = 5.0;  ///< exact start around each source: nodes within this many cell sizes (h = (6
                               ///< · mean volume of the source's tets)^⅓) start from t0 + λ·sqrt(ΔxᵀMΔx), the
                               ///< exact solution where the metric M is constant (λ = 1), an upper bound
                               ///< otherwise; the ball stops at other sources and where the mesh is not
                               ///< convex (see fim.cpp). 0 = off (plain point sources)
};

struct SolveStats {
  int iterations = 0;           ///< active-list sweeps (Dijkstra: nodes settled)
  long long local_updates = 0;  ///< local tetrahedral solves evaluated; tets skipped because they cannot
                                ///< lower the node (lower bound ≥ its time, or inputs unchanged since
                                ///< its last solve) are not counted (Dijkstra: edge relaxations)
  long long node_updates = 0;   ///< node local solves (each over its incident tets)
  bool converged = false;       ///< active list emptied before max_iterations
};

struct SolveResult {
  Eigen::VectorXd times;  ///< #P activation times, ms (+inf for nodes no source can reach)
  SolveStats stats;
};

/// What FimSolver::vjp needs from one solve: per node the tet and candidate (face, edge or vertex), the
/// source onset or the start ball that gave its final time, and the solve's inputs. Filled by
/// FimSolver::solve(speed, sources, record); only valid with the solver that filled it. Move-only.
class SolveRecord {
 public:
  SolveRecord();
  ~SolveRecord();
  SolveRecord(SolveRecord&&) noexcept;
  SolveRecord& operator=(SolveRecord&&) noexcept;
  bool empty() const;  ///< true until a solve filled it
  struct Data;

 private:
  friend class FimSolver;
  std::unique_ptr<Data> data_;
};

/// ∂L/∂(inputs of a recorded solve) for a given ∂L/∂T (FimSolver::vjp).
struct SolveGradient {
  Eigen::VectorXd speed;  ///< ∂L/∂SpeedField::speed (#P or #T, as the field), transverse_ratio held fixed
  Eigen::VectorXd fibre_speed;  ///< anisotropic only (else empty): ∂L/∂v_f, v_f = speed, v_s held fixed
  Eigen::VectorXd sheet_speed;  ///< anisotropic only: ∂L/∂v_s, v_s = transverse_ratio · speed, v_f held fixed
  double transverse_ratio = 0;  ///< ∂L/∂transverse_ratio (0 isotropic); = Σ speed ⊙ sheet_speed
  Eigen::VectorXd onset;        ///< #sources ∂L/∂Source::time, in the order given to solve()
};

/// One independent solve in a batch: `speed` indexes the speed-field list.
struct BatchItem {
  int speed = 0;
  std::vector<Source> sources;
};

/// Precomputes topology (node→tet adjacency) and per-tet geometry once per mesh; reusable for
/// any number of solves. Thread-safe: solve()/solve_batch() are const.
/// FIM with a Jacobi-style active list: every sweep updates all active nodes from the same old
/// times, so results are bit-identical for any thread count. Sources are initial values
/// T(node) = onset time; a source reached earlier by another source's front takes the earlier time,
/// i.e. T(x) = min over sources of (onset + travel time).
/// Errors (core::Error, one line): mesh without tets or with degenerate tets, speed/fibre sizes,
/// non-positive or non-finite speeds, zero fibres, no sources, source node out of range.
class FimSolver {
 public:
  FimSolver(const geometry::TetMesh& mesh, FimOptions options = {});
  ~FimSolver();
  FimSolver(FimSolver&&) noexcept;

  SolveResult solve(const SpeedField& speed, const std::vector<Source>& sources) const;
  /// The same solve (same times), also recording what gave every node its final time into `record`.
  SolveResult solve(const SpeedField& speed, const std::vector<Source>& sources, SolveRecord& record) const;
  /// Vector–Jacobian product of the recorded solve: given ∂L/∂T (#P, ms⁻¹·[L]), returns ∂L/∂speed,
  /// fibre/sheet speeds and onsets, by one walk over the nodes against the arrival order (O(#P)). The
  /// derivative is that of the converged discrete solution; at ties (two tets or sources giving the
  /// same time) and in a start ball whose λ is a tie, it is one-sided (fim_adjoint.cpp explains which).
  /// Errors (one line): empty record or one from another solver, a solve that did not converge, ∂L/∂T
  /// of the wrong length or not finite, a non-zero ∂L/∂T at a node no source reaches.
  SolveGradient vjp(const SolveRecord& record, const Eigen::VectorXd& dL_dT) const;
  /// Independent solves in parallel over OpenMP (each solve single-threaded inside); result i
  /// belongs to items[i]. Everything is validated before any solve starts.
  std::vector<SolveResult> solve_batch(const std::vector<SpeedField>& speeds,
                                       const std::vector<BatchItem>& items) const;
  const FimOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-off convenience: builds a FimSolver and solves once.
SolveResult solve(const geometry::TetMesh& mesh, const SpeedField& speed, const std::vector<Source>& sources,
                  FimOptions options = {});

}  // namespace metaeik::eikonal
