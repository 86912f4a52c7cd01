#include "eikonal/dijkstra.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <utility>

#include "core/error.hpp"
#include "eikonal/batch.hpp"

namespace metaeik::eikonal {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};

SolveResult run_dijkstra(const detail::Topology& topo, const detail::TetMetric& metric,
                         const std::vector<Source>& mesh_sources, std::vector<double>& weight) {
  const std::vector<Source> sources = detail::internal_sources(topo, mesh_sources);
  // Edge lengths: min over incident tets of the tet's metric length; stored on (lo → hi) entries,
  // then mirrored to (hi → lo).
  weight.assign(topo.node_neighbors.size(), kInf);
  for (int t = 0; t < topo.num_tets; ++t) {
    const double* g = metric.tets[t].gram;
    for (int e = 0; e < 6; ++e) {
      const double len = std::sqrt(detail::edge_length2(g, kEdges[e][0], kEdges[e][1])) * metric.slowness[t];
      double& w = weight[topo.tet_edges[6 * size_t(t) + e]];
      w = std::min(w, len);
    }
  }
  for (int a = 0; a < topo.num_points; ++a)
    for (int e = topo.node_offsets[a]; e < topo.node_offsets[a + 1]; ++e)
      if (topo.node_neighbors[e] < a) weight[e] = weight[topo.reverse_entry[e]];

  SolveResult result;
  result.times = Eigen::VectorXd::Constant(topo.num_points, kInf);
  double* T = result.times.data();
  using Item = std::pair<double, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  for (const Source& s : sources)
    if (s.time < T[s.node]) {
      T[s.node] = s.time;
      heap.emplace(s.time, s.node);
    }
  long long settled = 0, relaxations = 0;
  while (!heap.empty()) {
    const auto [d, a] = heap.top();
    heap.pop();
    if (d > T[a]) continue;  // stale entry
    ++settled;
    for (int e = topo.node_offsets[a]; e < topo.node_offsets[a + 1]; ++e) {
      const int b = topo.node_neighbors[e];
      ++relaxations;
      const double nd = d + weight[e];
      if (nd < T[b]) {
        T[b] = nd;
        heap.emplace(nd, b);
      }
    }
  }
  result.times = detail::external_times(topo, result.times);
  result.stats.iterations = int(settled);
  result.stats.node_updates = settled;
  result.stats.local_updates = relaxations;
  result.stats.converged = true;
  return result;
}

}  // namespace

struct DijkstraSolver::Impl : detail::SolverState {
  using SolverState::SolverState;
};

DijkstraSolver::DijkstraSolver(const geometry::TetMesh& mesh, FimOptions options)
    : impl_(std::make_unique<Impl>(mesh, options)) {}

DijkstraSolver::~DijkstraSolver() = default;
DijkstraSolver::DijkstraSolver(DijkstraSolver&&) noexcept = default;

const FimOptions& DijkstraSolver::options() const { return impl_->options; }

SolveResult DijkstraSolver::solve(const SpeedField& speed, const std::vector<Source>& sources) const {
  detail::check_sources(impl_->topo, sources);
  const detail::TetMetric metric = detail::build_metric(impl_->topo, speed);
  std::vector<double> weight;
  return run_dijkstra(impl_->topo, metric, sources, weight);
}

std::vector<SolveResult> DijkstraSolver::solve_batch(const std::vector<SpeedField>& speeds,
                                                     const std::vector<BatchItem>& items) const {
  return detail::solve_batch<std::vector<double>>(
      *impl_, speeds, items,
      [&](const detail::TetMetric& metric, const std::vector<Source>& sources, std::vector<double>& weight) {
        return run_dijkstra(impl_->topo, metric, sources, weight);
      });
}

SolveResult solve_dijkstra(const geometry::TetMesh& mesh, const SpeedField& speed,
                           const std::vector<Source>& sources, FimOptions options) {
  return DijkstraSolver(mesh, options).solve(speed, sources);
}

}  // namespace metaeik::eikonal
