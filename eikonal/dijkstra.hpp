#pragma once
// Dijkstra shortest paths along mesh edges: the low-accuracy reference for the FIM solver.

#include <memory>
#include <vector>

#include "eikonal/fim.hpp"

namespace metaeik::eikonal {

/// Same interface and inputs as FimSolver. The length of mesh edge e is min over the tets that
/// contain it of sqrt(eᵀ M_t e) with the same per-tet metric M_t = D_t⁻¹ the FIM solver uses, so
/// Dijkstra times are upper bounds of the FIM times on the same mesh. Options: only `threads`
/// (for solve_batch) is used; stats.converged is always true.
class DijkstraSolver {
 public:
  DijkstraSolver(const geometry::TetMesh& mesh, FimOptions options = {});
  ~DijkstraSolver();
  DijkstraSolver(DijkstraSolver&&) noexcept;

  SolveResult solve(const SpeedField& speed, const std::vector<Source>& sources) const;
  std::vector<SolveResult> solve_batch(const std::vector<SpeedField>& speeds,
                                       const std::vector<BatchItem>& items) const;
  const FimOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-off convenience: builds a DijkstraSolver and solves once.
SolveResult solve_dijkstra(const geometry::TetMesh& mesh, const SpeedField& speed,
                           const std::vector<Source>& sources, FimOptions options = {});

}  // namespace metaeik::eikonal
