#include "geometry/graph.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/random.hpp"

namespace metaeik::geometry {

Graph graph_from_pairs(const Points& points, const std::vector<std::pair<int, int>>& pairs) {
  const int n = int(points.rows());
  std::vector<std::pair<int, int>> directed;  // (target, source)
  directed.reserve(2 * pairs.size());
  for (auto [a, b] : pairs) {
    METAEIK_CHECK(a >= 0 && a < n && b >= 0 && b < n,
                  "graph edge (" << a << ", " << b << ") is out of range for " << n << " nodes");
    if (a == b) continue;
    directed.emplace_back(a, b);
    directed.emplace_back(b, a);
  }
  std::sort(directed.begin(), directed.end());
  directed.erase(std::unique(directed.begin(), directed.end()), directed.end());

  Graph g;
  g.points = points;
  g.edges.resize(Eigen::Index(directed.size()), 2);
  g.pseudo.resize(Eigen::Index(directed.size()), 3);
  double max_delta = 0.0;
  for (std::size_t e = 0; e < directed.size(); ++e) {
    const auto [i, j] = directed[e];
    g.edges(e, 0) = j;
    g.edges(e, 1) = i;
    max_delta = std::max(max_delta, (points.row(i) - points.row(j)).cwiseAbs().maxCoeff());
  }
  const double scale = max_delta > 0 ? 1.0 / (2.0 * max_delta) : 0.0;
  for (Eigen::Index e = 0; e < g.edges.rows(); ++e)
    g.pseudo.row(e) = (points.row(g.edges(e, 1)) - points.row(g.edges(e, 0))).array() * scale + 0.5;
  return g;
}

Graph mesh_edge_graph(const TetMesh& mesh) {
  std::vector<std::pair<int, int>> pairs;
  pairs.reserve(std::size_t(mesh.num_tets()) * 6);
  static const int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (int t = 0; t < mesh.num_tets(); ++t)
    for (const auto& e : kEdges) pairs.emplace_back(mesh.tets(t, e[0]), mesh.tets(t, e[1]));
  return graph_from_pairs(mesh.points, pairs);
}

Graph knn_graph(const Points& points, int k) {
  const int n = int(points.rows());
  METAEIK_CHECK(k >= 1, "k-NN graph: k must be at least 1, got " << k);
  METAEIK_CHECK(n > k, "k-NN graph: k = " << k << " needs more than " << k << " points, got " << n);
  std::vector<std::vector<int>> nearest(n);
  // Brute force O(N²): the encoder graphs have a few thousand nodes.
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<double, int>> d;
    d.reserve(n - 1);
    for (int j = 0; j < n; ++j)
      if (j != i) d.emplace_back((points.row(i) - points.row(j)).squaredNorm(), j);
    std::partial_sort(d.begin(), d.begin() + k, d.end());
    for (int m = 0; m < k; ++m) nearest[i].push_back(d[m].second);
  }
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < n; ++i)
    for (int j : nearest[i]) pairs.emplace_back(i, j);
  return graph_from_pairs(points, pairs);
}

Eigen::VectorXi graclus_clusters(const Graph& graph, std::uint64_t seed, int* num_clusters) {
  const int n = graph.num_nodes();
  // CSR adjacency (edges are sorted by target).
  std::vector<int> start(n + 1, 0);
  for (int e = 0; e < graph.num_edges(); ++e) ++start[graph.edges(e, 1) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<double> w(graph.num_edges());
  double mean_len2 = 0.0;
  for (int e = 0; e < graph.num_edges(); ++e) {
    w[e] = (graph.points.row(graph.edges(e, 0)) - graph.points.row(graph.edges(e, 1))).squaredNorm();
    mean_len2 += std::sqrt(w[e]);
  }
  mean_len2 = graph.num_edges() > 0 ? std::pow(mean_len2 / graph.num_edges(), 2) : 1.0;
  if (mean_len2 <= 0) mean_len2 = 1.0;
  std::vector<double> degree(n, 0.0);
  for (int e = 0; e < graph.num_edges(); ++e) {
    w[e] = std::exp(-w[e] / mean_len2);
    degree[graph.edges(e, 1)] += w[e];
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto rng = core::make_rng(seed, 0x67726170ULL);
  std::shuffle(order.begin(), order.end(), rng);

  Eigen::VectorXi cluster = Eigen::VectorXi::Constant(n, -1);
  int count = 0;
  for (int i : order) {
    if (cluster[i] >= 0) continue;
    int best = -1;
    double best_w = -1.0;
    for (int e = start[i]; e < start[i + 1]; ++e) {
      const int j = graph.edges(e, 0);
      if (cluster[j] >= 0) continue;
      const double cut = w[e] * (1.0 / std::max(degree[i], 1e-300) + 1.0 / std::max(degree[j], 1e-300));
      if (cut > best_w) best_w = cut, best = j;
    }
    cluster[i] = count;
    if (best >= 0) cluster[best] = count;
    ++count;
  }
  if (num_clusters) *num_clusters = count;
  return cluster;
}

GraphHierarchy coarsen(const Graph& graph, const CoarseningOptions& options) {
  METAEIK_CHECK(options.levels >= 1, "coarsening: levels must be at least 1, got " << options.levels);
  GraphHierarchy h;
  h.levels.push_back(graph);
  for (int level = 1; level < options.levels; ++level) {
    const Graph& fine = h.levels.back();
    if (fine.num_nodes() <= options.min_nodes) break;
    int nc = 0;
    Eigen::VectorXi cluster = graclus_clusters(fine, options.seed + std::uint64_t(level), &nc);
    Points coarse_points = Points::Zero(nc, 3);
    std::vector<int> size(nc, 0);
    for (int n = 0; n < fine.num_nodes(); ++n) {
      coarse_points.row(cluster[n]) += fine.points.row(n);
      ++size[cluster[n]];
    }
    for (int c = 0; c < nc; ++c) coarse_points.row(c) /= size[c];
    std::vector<std::pair<int, int>> pairs;
    pairs.reserve(fine.num_edges());
    for (int e = 0; e < fine.num_edges(); ++e) {
      const int a = cluster[fine.edges(e, 0)], b = cluster[fine.edges(e, 1)];
      if (a < b) pairs.emplace_back(a, b);
    }
    h.cluster.push_back(cluster);
    h.levels.push_back(graph_from_pairs(coarse_points, pairs));
  }
  return h;
}

Eigen::SparseMatrix<double, Eigen::RowMajor> pooling_matrix(const Eigen::VectorXi& cluster, int num_coarse) {
  std::vector<int> size(num_coarse, 0);
  for (int n = 0; n < cluster.size(); ++n) {
    METAEIK_CHECK(cluster[n] >= 0 && cluster[n] < num_coarse, "pooling: node "
                                                                  << n << " has cluster " << cluster[n]
                                                                  << ", expected [0, " << num_coarse << ")");
    ++size[cluster[n]];
  }
  std::vector<Eigen::Triplet<double>> triplets;
  triplets.reserve(cluster.size());
  for (int n = 0; n < cluster.size(); ++n) triplets.emplace_back(cluster[n], n, 1.0 / size[cluster[n]]);
  Eigen::SparseMatrix<double, Eigen::RowMajor> P(num_coarse, cluster.size());
  P.setFromTriplets(triplets.begin(), triplets.end());
  return P;
}

}  // namespace metaeik::geometry
