#pragma once
// Internal to eikonal/: the FIM local tetrahedral solver (face, edge and vertex candidates), shared by the
// forward solve (eikonal/fim.cpp) and its adjoint (eikonal/fim_adjoint.cpp). Not part of the public API.
//
// The node x is updated from a face (x_0, x_1, x_2) of a tet with times t_i. With u_i = x_i − x and
// the metric Gram Q_ij = u_iᵀ M u_j, the Hopf–Lax update is
//   T(x) = min over μ ≥ 0, Σμ = 1 of  μᵀt + sqrt(μᵀ Q μ)
// (linear interpolation on the face plus the metric distance). It is convex in μ; the interior
// stationary point satisfies (ν1 − t)ᵀ Q⁻¹ (ν1 − t) = 1 with value ν and μ ∝ Q⁻¹(ν1 − t), so
//   ν = (b + sqrt(b² − a c)) / a,  a = 1ᵀadj(Q)1, b = 1ᵀadj(Q)t, c = tᵀadj(Q)t − det Q.
// It is kept if μ ≥ 0 (the characteristic crosses the face) and ν ≥ max t (causality); otherwise
// the minimum lies on an edge (same formula in 2D) or at a vertex (t_i + sqrt(Q_ii)).
// Times are shifted by their minimum for accuracy.
// By the envelope theorem the minimiser μ* gives the derivatives: ∂T/∂t_i = μ*_i and
// ∂T/∂Q = μ*μ*ᵀ / (2 sqrt(μ*ᵀQμ*)) (the adjoint uses them).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace metaeik::eikonal::detail {

inline constexpr double kInfTime = std::numeric_limits<double>::infinity();

/// What gave a node its final time. Face/edge/vertex refer to the tet's other three vertices
/// (TetEntry::other[0..2]).
enum class Candidate : std::uint8_t {
  kNone,    ///< not reached
  kSource,  ///< the onset time of a source
  kBall,    ///< the exact start ball of a source
  kFace,    ///< interior of the face (other 0, 1, 2)
  kEdge01,
  kEdge02,
  kEdge12,
  kVertex0,
  kVertex1,
  kVertex2,
};

/// The recorded origin of one node's time: a tet entry (index into Topology::tet_entries) and a
/// candidate of it, or a source index (kSource, kBall). 8 bytes.
struct Parent {
  int index = -1;
  Candidate kind = Candidate::kNone;
};

/// The edge (x_i, x_j) candidate, m + ν, and whether it is valid (the stationary point lies inside the
/// edge and is causal). Written without branches so that batch_tet_updates vectorises the same
/// arithmetic (its results equal tet_update's bit for bit).
inline double edge_candidate(double qii, double qij, double qjj, double ti, double tj, bool& valid) {
  const double m = std::min(ti, tj);
  const double a0 = ti - m, a1 = tj - m;
  const double det = qii * qjj - qij * qij;
  const double y0 = qjj - qij, y1 = qii - qij;                      // adj(Q)·1
  const double z0 = qjj * a0 - qij * a1, z1 = qii * a1 - qij * a0;  // adj(Q)·t
  const double A = y0 + y1, B = y0 * a0 + y1 * a1, C = a0 * z0 + a1 * z1 - det;
  const double disc = B * B - A * C;
  const double nu = (B + std::sqrt(std::max(disc, 0.0))) / A;
  valid = (disc >= 0) & (nu * y0 >= z0) & (nu * y1 >= z1) & (nu >= std::max(a0, a1));
  return m + nu;
}

/// The face candidate (interior stationary point of the face), like edge_candidate.
inline double face_candidate(const double* q, double t0, double t1, double t2, bool& valid) {
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
  const double nu = (B + std::sqrt(std::max(disc, 0.0))) / A;
  valid = (disc >= 0) & (nu * y0 >= z0) & (nu * y1 >= z1) & (nu * y2 >= z2) &
          (nu >= std::max(a0, std::max(a1, a2)));
  return m + nu;
}

inline double edge_update(double qii, double qij, double qjj, double ti, double tj) {
  bool valid;
  const double r = edge_candidate(qii, qij, qjj, ti, tj, valid);
  return valid ? r : kInfTime;
}

inline double face_update(const double* q, double t0, double t1, double t2) {
  bool valid;
  const double r = face_candidate(q, t0, t1, t2, valid);
  return valid ? r : kInfTime;
}

/// Minimum over the face (x_0, x_1, x_2) of one tet; +inf entries of t are unknown nodes. With kRecord,
/// `*which` is set to the candidate that gave the minimum (ties: the first in the order face, edges
/// 01, 02, 12, vertices 0, 1, 2).
template <bool kRecord = false>
inline double tet_update(const double* q, double t0, double t1, double t2, Candidate* which = nullptr) {
  const bool f0 = t0 < kInfTime, f1 = t1 < kInfTime, f2 = t2 < kInfTime;
  if (f0 && f1 && f2) {
    const double r = face_update(q, t0, t1, t2);
    if (r < kInfTime) {  // convexity: an interior stationary point is the minimum over the face
      if constexpr (kRecord) *which = Candidate::kFace;
      return r;
    }
  }
  // Edges, then the vertices not covered by a valid edge minimum (which is ≤ both its end values).
  double best = kInfTime;
  Candidate code = Candidate::kNone;
  const auto take = [&](double r, Candidate c) {
    if (r < best) {
      best = r;
      if constexpr (kRecord) code = c;
    }
  };
  bool covered0 = false, covered1 = false, covered2 = false;
  if (f0 && f1) {
    const double r = edge_update(q[0], q[1], q[3], t0, t1);
    if (r < kInfTime) take(r, Candidate::kEdge01), covered0 = covered1 = true;
  }
  if (f0 && f2) {
    const double r = edge_update(q[0], q[2], q[5], t0, t2);
    if (r < kInfTime) take(r, Candidate::kEdge02), covered0 = covered2 = true;
  }
  if (f1 && f2) {
    const double r = edge_update(q[3], q[4], q[5], t1, t2);
    if (r < kInfTime) take(r, Candidate::kEdge12), covered1 = covered2 = true;
  }
  if (f0 && !covered0) take(t0 + std::sqrt(q[0]), Candidate::kVertex0);
  if (f1 && !covered1) take(t1 + std::sqrt(q[3]), Candidate::kVertex1);
  if (f2 && !covered2) take(t2 + std::sqrt(q[5]), Candidate::kVertex2);
  if constexpr (kRecord) *which = code;
  return best;
}

/// Gram of u_i = x_{other(K,i)} − x_K from the tet's Gram g of d_j = x_j − x_0, scaled by w = 1/v²;
/// the other vertices of local vertex K are, in order, {1,2,3}, {0,2,3}, {0,1,3}, {0,1,2}. With
/// p_0 = 0 and p_j = d_j: u_a·u_b = p_a·p_b − p_a·p_K − p_K·p_b + p_K·p_K (one expression for every
/// K, so that batch_tet_updates can compute all four and select without a branch).
template <int K>
inline void local_gram_k(const double* g, double w, double* q) {
  const double E[4][4] = {{0, 0, 0, 0}, {0, g[0], g[1], g[2]}, {0, g[1], g[3], g[4]}, {0, g[2], g[4], g[5]}};
  constexpr int kOther[4][3] = {{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}};
  constexpr int kPairs[6][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2}};
  for (int i = 0; i < 6; ++i) {
    const int a = kOther[K][kPairs[i][0]], b = kOther[K][kPairs[i][1]];
    q[i] = w * (((E[a][b] - E[a][K]) - E[K][b]) + E[K][K]);
  }
}

/// local_gram_k for a local vertex k known at run time.
inline void local_gram(const double* g, int k, double w, double* q) {
  switch (k) {
    case 0:
      return local_gram_k<0>(g, w, q);
    case 1:
      return local_gram_k<1>(g, w, q);
    case 2:
      return local_gram_k<2>(g, w, q);
    default:
      return local_gram_k<3>(g, w, q);
  }
}

/// Tet updates in structure-of-arrays form for batch_tet_updates, one column per tet: the tet's Gram
/// g (6 rows), the local vertex k and the metric scale w of local_gram, and the times of the face's
/// nodes (3 rows, +inf for unknown nodes).
inline constexpr int kBatch = 32;
struct alignas(64) LocalBatch {
  double g[6][kBatch];
  double k[kBatch];
  double w[kBatch];
  double t[3][kBatch];
};

/// out[i] = tet_update(local_gram(column i of b), its times) for i < n, bit for bit, computed without
/// branches so that the loop vectorises (AVX2 where the CPU has it; eikonal/local_batch.cpp).
void batch_tet_updates(const LocalBatch& b, int n, double* out);

/// The minimiser μ* (Σμ = 1) of the recorded candidate `kind` of a tet update with local Gram q and
/// times t (all finite where the candidate uses them), at these times. For a face or edge whose
/// stationary point no longer exists (times moved by up to the solver tolerance since the record)
/// the weights fall back to the nearer end point. Weights of nodes the candidate does not use are 0.
inline void candidate_weights(Candidate kind, const double* q, const double* t, double* mu) {
  mu[0] = mu[1] = mu[2] = 0.0;
  const auto edge = [&](int i, int j, int qi, int qij, int qj) {
    // Stationary point of the 2D problem: μ ∝ ν adj(Q)1 − adj(Q)a.
    const double m = std::min(t[i], t[j]);
    const double a0 = t[i] - m, a1 = t[j] - m;
    const double qii = q[qi], qxy = q[qij], qjj = q[qj];
    const double det = qii * qjj - qxy * qxy;
    const double y0 = qjj - qxy, y1 = qii - qxy;
    const double z0 = qjj * a0 - qxy * a1, z1 = qii * a1 - qxy * a0;
    const double A = y0 + y1, B = y0 * a0 + y1 * a1, C = a0 * z0 + a1 * z1 - det;
    const double disc = B * B - A * C;
    if (disc >= 0) {
      const double nu = (B + std::sqrt(disc)) / A;
      const double w0 = std::max(0.0, nu * y0 - z0), w1 = std::max(0.0, nu * y1 - z1);
      if (w0 + w1 > 0) {
        mu[i] = w0 / (w0 + w1), mu[j] = w1 / (w0 + w1);
        return;
      }
    }
    (t[i] + std::sqrt(qii) <= t[j] + std::sqrt(qjj) ? mu[i] : mu[j]) = 1.0;
  };
  switch (kind) {
    case Candidate::kFace: {
      const double m = std::min(t[0], std::min(t[1], t[2]));
      const double a0 = t[0] - m, a1 = t[1] - m, a2 = t[2] - m;
      const double q00 = q[0], q01 = q[1], q02 = q[2], q11 = q[3], q12 = q[4], q22 = q[5];
      const double c00 = q11 * q22 - q12 * q12, c01 = q02 * q12 - q01 * q22, c02 = q01 * q12 - q02 * q11;
      const double c11 = q00 * q22 - q02 * q02, c12 = q01 * q02 - q00 * q12, c22 = q00 * q11 - q01 * q01;
      const double det = q00 * c00 + q01 * c01 + q02 * c02;
      const double y[3] = {c00 + c01 + c02, c01 + c11 + c12, c02 + c12 + c22};
      const double z[3] = {c00 * a0 + c01 * a1 + c02 * a2, c01 * a0 + c11 * a1 + c12 * a2,
                           c02 * a0 + c12 * a1 + c22 * a2};
      const double A = y[0] + y[1] + y[2], B = y[0] * a0 + y[1] * a1 + y[2] * a2;
      const double C = a0 * z[0] + a1 * z[1] + a2 * z[2] - det;
      const double disc = B * B - A * C;
      if (disc >= 0) {
        const double nu = (B + std::sqrt(disc)) / A;
        double w[3], sum = 0.0;
        for (int i = 0; i < 3; ++i) sum += (w[i] = std::max(0.0, nu * y[i] - z[i]));
        if (sum > 0) {
          for (int i = 0; i < 3; ++i) mu[i] = w[i] / sum;
          return;
        }
      }
      // Degenerate after a tolerance-sized move: the best of the three vertices.
      const double v[3] = {t[0] + std::sqrt(q[0]), t[1] + std::sqrt(q[3]), t[2] + std::sqrt(q[5])};
      mu[std::min_element(v, v + 3) - v] = 1.0;
      return;
    }
    case Candidate::kEdge01:
      return edge(0, 1, 0, 1, 3);
    case Candidate::kEdge02:
      return edge(0, 2, 0, 2, 5);
    case Candidate::kEdge12:
      return edge(1, 2, 3, 4, 5);
    case Candidate::kVertex0:
      mu[0] = 1.0;
      return;
    case Candidate::kVertex1:
      mu[1] = 1.0;
      return;
    case Candidate::kVertex2:
      mu[2] = 1.0;
      return;
    default:
      return;
  }
}

/// Whether candidate `kind` uses other vertex i (0..2) of its tet.
inline bool candidate_uses(Candidate kind, int i) {
  switch (kind) {
    case Candidate::kFace:
      return true;
    case Candidate::kEdge01:
      return i != 2;
    case Candidate::kEdge02:
      return i != 1;
    case Candidate::kEdge12:
      return i != 0;
    case Candidate::kVertex0:
      return i == 0;
    case Candidate::kVertex1:
      return i == 1;
    case Candidate::kVertex2:
      return i == 2;
    default:
      return false;
  }
}

}  // namespace metaeik::eikonal::detail
