#include "geometry/graph.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"

using namespace metaeik;
using namespace metaeik::geometry;

namespace {

// Structured n×n×n-vertex grid of spacing h, each cube split into 6 Kuhn tets.
TetMesh grid_mesh(int n, double h) {
  TetMesh m;
  m.points.resize(n * n * n, 3);
  auto id = [n](int i, int j, int k) { return (k * n + j) * n + i; };
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) m.points.row(id(i, j, k)) << i * h, j * h, k * h;
  std::vector<std::array<int, 4>> tets;
  static const int kPerm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int k = 0; k + 1 < n; ++k)
    for (int j = 0; j + 1 < n; ++j)
      for (int i = 0; i + 1 < n; ++i)
        for (const auto& p : kPerm) {
          int c[3] = {i, j, k};
          std::array<int, 4> t;
          t[0] = id(c[0], c[1], c[2]);
          for (int s = 0; s < 3; ++s) {
            ++c[p[s]];
            t[s + 1] = id(c[0], c[1], c[2]);
          }
          tets.push_back(t);
        }
  m.tets.resize(Eigen::Index(tets.size()), 4);
  for (std::size_t t = 0; t < tets.size(); ++t)
    for (int v = 0; v < 4; ++v) m.tets(t, v) = tets[t][v];
  return m;
}

void expect_valid_graph(const Graph& g) {
  std::set<std::pair<int, int>> seen;
  for (int e = 0; e < g.num_edges(); ++e) {
    const int j = g.edges(e, 0), i = g.edges(e, 1);
    ASSERT_NE(i, j);
    ASSERT_TRUE(seen.insert({i, j}).second) << "duplicate edge";
    if (e > 0) {
      const std::pair<int, int> prev{g.edges(e - 1, 1), g.edges(e - 1, 0)};
      EXPECT_LT(prev, std::make_pair(i, j)) << "edges not sorted by (target, source)";
    }
    for (int d = 0; d < 3; ++d) {
      EXPECT_GE(g.pseudo(e, d), 0.0);
      EXPECT_LE(g.pseudo(e, d), 1.0);
    }
  }
  for (auto [i, j] : seen) EXPECT_TRUE(seen.count({j, i})) << "edge without its reverse";
}

}  // namespace

TEST(Graph, MeshEdgeGraphOfOneCube) {
  TetMesh m = grid_mesh(2, 1.0);
  Graph g = mesh_edge_graph(m);
  // Kuhn split of a cube: 12 cube edges + 6 face diagonals + 1 space diagonal = 19 undirected.
  EXPECT_EQ(g.num_nodes(), 8);
  EXPECT_EQ(g.num_edges(), 38);
  expect_valid_graph(g);
  // Pseudo-coordinates: max |Δ| = 1, so u = Δ/2 + 0.5; the 0→7 space diagonal maps to 0 / 1.
  for (int e = 0; e < g.num_edges(); ++e) {
    Eigen::RowVector3d expected = (m.points.row(g.edges(e, 1)) - m.points.row(g.edges(e, 0))) / 2.0;
    expected.array() += 0.5;
    EXPECT_NEAR((g.pseudo.row(e) - expected).norm(), 0.0, 1e-14);
  }
}

TEST(Graph, KnnGraphContainsNearestNeighboursAndIsSymmetric) {
  Points p(5, 3);
  p << 0, 0, 0, 1, 0, 0, 3, 0, 0, 7, 0, 0, 15, 0, 0;
  Graph g = knn_graph(p, 1);
  expect_valid_graph(g);
  // 1-NN: 0↔1, 1→0, 2→1, 3→2, 4→3 → undirected {01, 12, 23, 34}.
  EXPECT_EQ(g.num_edges(), 8);
  // Largest |Δ| is 8 (3↔4): u of edge 4→3 is (7−15)/16 + 0.5 = 0.
  for (int e = 0; e < g.num_edges(); ++e)
    if (g.edges(e, 0) == 4 && g.edges(e, 1) == 3) {
      EXPECT_DOUBLE_EQ(g.pseudo(e, 0), 0.0);
    }
}

TEST(Graph, KnnRejectsBadK) {
  Points p(3, 3);
  p.setZero();
  try {
    knn_graph(p, 3);
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "k-NN graph: k = 3 needs more than 3 points, got 3");
  }
}

TEST(Graph, CoarseningRoughlyHalvesAndPoolsToClusterMeans) {
  TetMesh m = grid_mesh(9, 0.5);  // 729 nodes
  Graph g = mesh_edge_graph(m);
  GraphHierarchy h = coarsen(g, {6, 4, 7});
  ASSERT_EQ(h.levels.size(), 6u);
  ASSERT_EQ(h.cluster.size(), 5u);
  for (std::size_t l = 0; l + 1 < h.levels.size(); ++l) {
    const int nf = h.levels[l].num_nodes(), nc = h.levels[l + 1].num_nodes();
    EXPECT_GE(nc, nf / 2) << "a cluster has more than two nodes";
    EXPECT_LE(nc, int(0.75 * nf)) << "level " << l << ": matching left too many singletons";
    expect_valid_graph(h.levels[l + 1]);
    // Every cluster is a node or a matched pair of adjacent nodes.
    std::vector<std::vector<int>> members(nc);
    for (int n = 0; n < nf; ++n) members[h.cluster[l][n]].push_back(n);
    auto P = pooling_matrix(h.cluster[l], nc);
    Points pooled = P * h.levels[l].points;
    for (int c = 0; c < nc; ++c) {
      ASSERT_GE(members[c].size(), 1u);
      ASSERT_LE(members[c].size(), 2u);
      EXPECT_NEAR((pooled.row(c) - h.levels[l + 1].points.row(c)).norm(), 0.0, 1e-12);
      EXPECT_NEAR(P.row(c).sum(), 1.0, 1e-14);
    }
    // The coarse graph stays connected if the fine one is (grid: connected).
  }
  // Deterministic given the seed.
  GraphHierarchy h2 = coarsen(g, {6, 4, 7});
  for (std::size_t l = 0; l < h.cluster.size(); ++l) EXPECT_EQ(h.cluster[l], h2.cluster[l]);
}

TEST(Graph, CoarseningStopsAtMinNodes) {
  TetMesh m = grid_mesh(2, 1.0);
  GraphHierarchy h = coarsen(mesh_edge_graph(m), {6, 4, 0});
  EXPECT_LT(h.levels.size(), 6u);
  EXPECT_LE(h.levels.back().num_nodes(), 4);
}
