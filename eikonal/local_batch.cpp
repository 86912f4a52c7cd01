// The FIM local solver over a batch of tets, without branches (eikonal/local_update.hpp). Compiled with
// -fno-math-errno -fno-trapping-math (CMakeLists.txt) so that the loop vectorises; the target clones
// add an AVX2 version, chosen at load time on CPUs that have it. No FMA, so the results equal
// tet_update's bit for bit (tests/eikonal/local_update_test.cpp).
#include <algorithm>

#include "eikonal/local_update.hpp"

namespace metaeik::eikonal::detail {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void batch_tet_updates(const LocalBatch& b, int n, double* out) {
  for (int i = 0; i < n; ++i) {
    const double g[6] = {b.g[0][i], b.g[1][i], b.g[2][i], b.g[3][i], b.g[4][i], b.g[5][i]};
    double q[6], q0[6], q1[6], q2[6], q3[6];
    local_gram_k<0>(g, b.w[i], q0);
    local_gram_k<1>(g, b.w[i], q1);
    local_gram_k<2>(g, b.w[i], q2);
    local_gram_k<3>(g, b.w[i], q3);
    const double k = b.k[i];
    for (int j = 0; j < 6; ++j) q[j] = k == 0 ? q0[j] : k == 1 ? q1[j] : k == 2 ? q2[j] : q3[j];
    const double t0 = b.t[0][i], t1 = b.t[1][i], t2 = b.t[2][i];
    const bool f0 = t0 < kInfTime, f1 = t1 < kInfTime, f2 = t2 < kInfTime;
    bool face_ok, e01_ok, e02_ok, e12_ok;
    const double face = face_candidate(q, t0, t1, t2, face_ok);
    const double e01 = edge_candidate(q[0], q[1], q[3], t0, t1, e01_ok);
    const double e02 = edge_candidate(q[0], q[2], q[5], t0, t2, e02_ok);
    const double e12 = edge_candidate(q[3], q[4], q[5], t1, t2, e12_ok);
    e01_ok &= f0 & f1, e02_ok &= f0 & f2, e12_ok &= f1 & f2;
    // A vertex counts where no valid edge minimum (≤ both its end values) covers it.
    const bool v0_ok = f0 & !(e01_ok | e02_ok), v1_ok = f1 & !(e01_ok | e12_ok);
    const bool v2_ok = f2 & !(e02_ok | e12_ok);
    double best = e01_ok ? e01 : kInfTime;
    best = std::min(best, e02_ok ? e02 : kInfTime);
    best = std::min(best, e12_ok ? e12 : kInfTime);
    best = std::min(best, v0_ok ? t0 + std::sqrt(q[0]) : kInfTime);
    best = std::min(best, v1_ok ? t1 + std::sqrt(q[3]) : kInfTime);
    best = std::min(best, v2_ok ? t2 + std::sqrt(q[5]) : kInfTime);
    out[i] = face_ok & f0 & f1 & f2 ? face : best;
  }
}

}  // namespace metaeik::eikonal::detail
