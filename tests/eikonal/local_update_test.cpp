// The batched, branch-free local solver (eikonal/local_batch.cpp) against the scalar one it replaces in
// unrecorded solves: the same value bit for bit, on random tets with known and unknown nodes.
#include "eikonal/local_update.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace metaeik::eikonal::detail {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(LocalBatch, EqualsTetUpdateBitForBit) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> coord(-1.0, 1.0), time(0.0, 3.0), unit(0.0, 1.0);
  int faces = 0, edges = 0, vertices = 0, unknown = 0;
  for (int round = 0; round < 200; ++round) {
    LocalBatch b;
    const int n = 1 + round % kBatch;
    for (int i = 0; i < n; ++i) {
      // A random tet (vertices x_0..x_3), its Gram of d_j = x_j − x_0, a local vertex, a slowness².
      double x[4][3];
      for (auto& p : x)
        for (double& v : p) v = coord(rng);
      double d[3][3];
      for (int j = 0; j < 3; ++j)
        for (int a = 0; a < 3; ++a) d[j][a] = x[j + 1][a] - x[0][a];
      for (int r = 0, idx = 0; r < 3; ++r)
        for (int s = r; s < 3; ++s, ++idx)
          b.g[idx][i] = d[r][0] * d[s][0] + d[r][1] * d[s][1] + d[r][2] * d[s][2];
      b.k[i] = double(rng() % 4);
      b.w[i] = 0.5 + 3.0 * unit(rng);
      // Times near a plane wave (some faces solve in their interior), some nodes unknown.
      for (int j = 0; j < 3; ++j) {
        b.t[j][i] = unit(rng) < 0.5 ? time(rng) : 1.0 + 0.1 * coord(rng);
        if (unit(rng) < 0.15) b.t[j][i] = kInfTime, ++unknown;
      }
    }
    double out[kBatch];
    batch_tet_updates(b, n, out);
    for (int i = 0; i < n; ++i) {
      double g[6], q[6];
      for (int j = 0; j < 6; ++j) g[j] = b.g[j][i];
      local_gram(g, int(b.k[i]), b.w[i], q);
      Candidate which = Candidate::kNone;
      const double expected = tet_update<true>(q, b.t[0][i], b.t[1][i], b.t[2][i], &which);
      faces += which == Candidate::kFace;
      edges += which == Candidate::kEdge01 || which == Candidate::kEdge02 || which == Candidate::kEdge12;
      vertices +=
          which == Candidate::kVertex0 || which == Candidate::kVertex1 || which == Candidate::kVertex2;
      ASSERT_TRUE(same_bits(out[i], expected))
          << "round " << round << " tet " << i << ": batch " << out[i] << ", scalar " << expected;
    }
  }
  // The draw covers every branch the scalar solver takes.
  EXPECT_GT(faces, 20);
  EXPECT_GT(edges, 20);
  EXPECT_GT(vertices, 20);
  EXPECT_GT(unknown, 100);
}

TEST(LocalGram, MatchesEdgeVectorsForEveryLocalVertex) {
  const double x[4][3] = {{0.1, 0.2, 0.0}, {1.3, 0.1, 0.2}, {0.2, 1.1, 0.3}, {0.4, 0.3, 0.9}};
  double d[3][3], g[6];
  for (int j = 0; j < 3; ++j)
    for (int a = 0; a < 3; ++a) d[j][a] = x[j + 1][a] - x[0][a];
  for (int r = 0, idx = 0; r < 3; ++r)
    for (int s = r; s < 3; ++s, ++idx) g[idx] = d[r][0] * d[s][0] + d[r][1] * d[s][1] + d[r][2] * d[s][2];
  const int other[4][3] = {{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}};
  for (int k = 0; k < 4; ++k) {
    double q[6];
    local_gram(g, k, 2.0, q);
    for (int a = 0, idx = 0; a < 3; ++a)
      for (int c = a; c < 3; ++c, ++idx) {
        double dot = 0;
        for (int m = 0; m < 3; ++m) dot += (x[other[k][a]][m] - x[k][m]) * (x[other[k][c]][m] - x[k][m]);
        EXPECT_NEAR(q[idx], 2.0 * dot, 1e-13) << "k " << k << " entry " << idx;
      }
  }
}

}  // namespace
}  // namespace metaeik::eikonal::detail
