#pragma once
// Internal to eikonal/: what FimSolver and DijkstraSolver share, their state and the parallel batch
// of independent solves. Not part of the public API.

#include <omp.h>

#include <vector>

#include "core/parallel.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal::detail {

/// Checked options and the mesh topology, built once per solver.
struct SolverState {
  SolverState(const geometry::TetMesh& mesh, const FimOptions& opts) : options(opts) {
    check_options(options);
    topo = build_topology(mesh);
  }
  Topology topo;
  FimOptions options;
};

/// Every batch item solved by solve(metric, sources, workspace), on `threads` threads with one
/// Workspace each (each solve single-threaded); result i belongs to items[i]. The metric of a speed
/// field that several items use is built once (in parallel), the others per item. Items are
/// validated first; the exception of the lowest failing item is rethrown.
template <class Workspace, class Solve>
std::vector<SolveResult> solve_batch(const SolverState& state, const std::vector<SpeedField>& speeds,
                                     const std::vector<BatchItem>& items, const Solve& solve) {
  const Topology& topo = state.topo;
  check_batch(topo, speeds, items);
  const int count = int(items.size());
  const int threads = resolve_threads(state.options.threads);
  std::vector<int> uses(speeds.size(), 0);
  for (const auto& item : items) ++uses[item.speed];
  std::vector<int> shared;
  for (size_t s = 0; s < speeds.size(); ++s)
    if (uses[s] > 1) shared.push_back(int(s));
  std::vector<TetMetric> metrics(speeds.size());
  core::LoopErrors errors;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (shared.size() > 1)
  for (int j = 0; j < int(shared.size()); ++j)
    errors.run(j, [&] { metrics[shared[j]] = build_metric(topo, speeds[shared[j]]); });
  errors.rethrow();
  std::vector<SolveResult> results(items.size());
#pragma omp parallel num_threads(threads) if (count > 1)
  {
    Workspace ws;
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < count; ++i)
      errors.run(i, [&] {
        const int s = items[i].speed;
        if (uses[s] > 1) {
          results[i] = solve(metrics[s], items[i].sources, ws);
        } else {
          const TetMetric metric = build_metric(topo, speeds[s]);
          results[i] = solve(metric, items[i].sources, ws);
        }
      });
  }
  errors.rethrow();
  return results;
}

}  // namespace metaeik::eikonal::detail
