#pragma once
// Internal to eikonal/: one node's update over its incident tets, for the FIM sweeps (eikonal/fim.cpp).
// Not part of the public API.

#include <algorithm>

#include "eikonal/local_update.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal::detail {

struct NodeContext {
  const int* tet_offsets;
  const TetEntry* tet_entries;
  const float* entry_height;
  const int* node_offsets;
  const int* node_neighbors;
  const TetGeom* tets;
  const double* slowness;
  double height_scale;
};

/// Whether tet entry e can lower T[x] below `best`: a node of its face changed after x was last solved
/// (stamp `seen`; the same inputs give the same candidate, which T[x] already is ≤ of), and its lower
/// bound, the smallest face time + the metric distance from x to the face's plane, is below `best`.
inline bool entry_may_lower(const NodeContext& c, int e, const double* T, const int* changed_at, int seen,
                            double best) {
  const TetEntry& te = c.tet_entries[e];
  const int v0 = te.other[0], v1 = te.other[1], v2 = te.other[2];
  const double tmin = std::min(T[v0], std::min(T[v1], T[v2]));
  const double bound = tmin + c.height_scale * c.entry_height[e] * c.slowness[te.tet_k >> 2];
  const int last_change = std::max(changed_at[v0], std::max(changed_at[v1], changed_at[v2]));
  return (bound < best) & (last_change > seen);  // one branch for both: they are unpredictable
}

/// The local Gram of tet entry e (scaled by the tet's slowness²).
inline void entry_gram(const NodeContext& c, int e, double* q) {
  const int t = c.tet_entries[e].tet_k >> 2, k = c.tet_entries[e].tet_k & 3;
  local_gram(c.tets[t].gram, k, c.slowness[t] * c.slowness[t], q);
}

/// min(T[x], every tet candidate of x), skipping the tets that cannot lower it (entry_may_lower).
/// Unrecorded solves gather the remaining tets of up to kBatch entries at a time and solve them with
/// batch_tet_updates (no unpredictable branches, vectorised); a recorded solve (kRecord) solves tet by
/// tet and sets `*parent` to the tet entry and candidate of the minimum when it is below T[x] (left
/// alone otherwise). Both give the same time.
template <bool kRecord>
inline double node_update(const NodeContext& c, int x, const double* T, const int* changed_at, int seen,
                          long long& evals_out, Parent* parent) {
  double best = T[x];
  const int begin = c.tet_offsets[x], end = c.tet_offsets[x + 1];
  if constexpr (kRecord) {
    for (int e = begin; e < end; ++e) {
      if (!entry_may_lower(c, e, T, changed_at, seen, best)) continue;
      ++evals_out;
      double q[6];
      entry_gram(c, e, q);
      const TetEntry& te = c.tet_entries[e];
      Candidate which = Candidate::kNone;
      const double r = tet_update<true>(q, T[te.other[0]], T[te.other[1]], T[te.other[2]], &which);
      if (r < best) best = r, *parent = Parent{e, which};
    }
  } else {
    LocalBatch batch;
    int picked[kBatch];
    double out[kBatch];
    for (int e = begin; e < end;) {
      int n = 0;  // compaction without a branch: the slot is written always, kept if it may lower
      for (; e < end && n < kBatch; ++e) {
        __builtin_prefetch(&c.tets[c.tet_entries[e].tet_k >> 2]);
        picked[n] = e;
        n += entry_may_lower(c, e, T, changed_at, seen, best);
      }
      for (int i = 0; i < n; ++i) {
        const TetEntry& te = c.tet_entries[picked[i]];
        const int t = te.tet_k >> 2;
        for (int j = 0; j < 6; ++j) batch.g[j][i] = c.tets[t].gram[j];
        batch.k[i] = te.tet_k & 3;
        batch.w[i] = c.slowness[t] * c.slowness[t];
        for (int j = 0; j < 3; ++j) batch.t[j][i] = T[te.other[j]];
      }
      batch_tet_updates(batch, n, out);
      for (int i = 0; i < n; ++i) best = std::min(best, out[i]);
      evals_out += n;
    }
  }
  return best;
}

}  // namespace metaeik::eikonal::detail
