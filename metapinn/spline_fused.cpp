// The fused training loops of spline_conv (SplinePath::kFused; declared in spline_kernels.hpp): the
// per-edge weights W_e = Σ_s b_s W_{k_s} are formed row by row in registers and never stored, so a
// training step neither writes nor reads the E·in·out floats of W_e and its gradient (75 MB per
// encoder at the quick config). Edges are visited grouped by spline cell, so the eight kernel
// matrices of consecutive edges (and their gradients) stay in cache.
//
// Threads own output columns (forward) or input channels (backward); every output element is then
// summed in the same order whatever the number of threads or their blocks.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "metapinn/simd_clones.hpp"
#include "metapinn/spline_kernels.hpp"

namespace metaeik::metapinn::detail {

namespace {

// ---------------------------------------------------------------------------------- generic --
// Any type and width: plain loops in the same order as the vector kernels below.

// y[b, to(e), o0 .. o1) += x[b, from(e), :] W_e over the edges in cell order; x [B, N, in],
// W [K³, in, out], y [B, N, out]. The forward (from = source, to = target) and, on Wᵀ and the scaled
// output gradient, the gradient in x (from = target, to = source).
template <typename T>
void messages_generic(const T* x, const T* W, const T* basis, const EdgeArrays& g, const int64_t* from,
                      const int64_t* to, T* y, int64_t B, int64_t in, int64_t out, int64_t o0, int64_t o1) {
  const int64_t N = g.num_nodes, n = in * out, w_len = o1 - o0;
  std::vector<T> w(w_len), acc(w_len * B);
  for (int64_t p = 0; p < g.num_edges; ++p) {
    const int64_t e = g.cell_edges[p];
    const T* xr = x + from[e] * in;
    const int64_t* k = g.weight_index + e * 8;
    const T* b = basis + e * 8;
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t c = 0; c < in; ++c) {
      for (int64_t o = o0; o < o1; ++o) w[o - o0] = b[0] * W[k[0] * n + c * out + o];
      for (int s = 1; s < 8; ++s)
        for (int64_t o = o0; o < o1; ++o) w[o - o0] += b[s] * W[k[s] * n + c * out + o];
      for (int64_t bb = 0; bb < B; ++bb) {
        const T a = xr[bb * N * in + c];
        for (int64_t o = o0; o < o1; ++o) acc[bb * w_len + o - o0] += a * w[o - o0];
      }
    }
    T* yr = y + to[e] * out;
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t o = o0; o < o1; ++o) yr[bb * N * out + o] += acc[bb * w_len + o - o0];
  }
}

// gW[k_s(e)][c, :] += basis[e, s] Σ_b x[b, j, c] gs[b, i, :] for e = (j → i), input channels c0 .. c1.
template <typename T>
void weight_grad_generic(const T* x, const T* gs, const T* basis, const EdgeArrays& g, T* gW, int64_t B,
                         int64_t in, int64_t out, int64_t c0, int64_t c1) {
  const int64_t N = g.num_nodes, n = in * out;
  std::vector<T> q(out);
  for (int64_t p = 0; p < g.num_edges; ++p) {
    const int64_t e = g.cell_edges[p];
    const int64_t* k = g.weight_index + e * 8;
    const T* b = basis + e * 8;
    const T* gr = gs + g.target[e] * out;
    const T* xr = x + g.source[e] * in;
    for (int64_t c = c0; c < c1; ++c) {
      std::fill(q.begin(), q.end(), T(0));
      for (int64_t bb = 0; bb < B; ++bb) {
        const T a = xr[bb * N * in + c];
        for (int64_t o = 0; o < out; ++o) q[o] += a * gr[bb * N * out + o];
      }
      for (int s = 0; s < 8; ++s) {
        T* gw = gW + k[s] * n + c * out;
        for (int64_t o = 0; o < out; ++o) gw[o] += b[s] * q[o];
      }
    }
  }
}

// ----------------------------------------------------------------------------- float vectors --
#if defined(__GNUC__)
using Float8 = float __attribute__((vector_size(32)));
using Float16 = float __attribute__((vector_size(64)));

template <typename V>
inline V loadv(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
inline void storev(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// Rows c .. c + R of W_e (columns NV·L from Ws[s]) times x_j, added to the sums of BB maps. R rows at
// once give R·NV independent chains of the eight multiply-adds that form W_e, enough to keep both
// FMA units busy (one row of four vectors would wait on the FMA latency).
template <typename V, int NV, int BB, int R>
[[gnu::always_inline]] inline void form_and_apply(const float* const* Ws, const float* b, int64_t c,
                                                  int64_t out, const float* xr, int64_t xs,
                                                  V (&acc)[BB][NV]) {
  constexpr int L = sizeof(V) / sizeof(float);
  V w[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) w[r][v] = b[0] * loadv<V>(Ws[0] + (c + r) * out + v * L);
#pragma GCC unroll 7
  for (int s = 1; s < 8; ++s)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) w[r][v] += b[s] * loadv<V>(Ws[s] + (c + r) * out + v * L);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 5
    for (int bb = 0; bb < BB; ++bb) {
      const float a = xr[bb * xs + c + r];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[bb][v] += a * w[r][v];
    }
}

// messages_generic for columns o0 .. o0 + NV·L of BB maps: the sums of an edge stay in BB·NV vector
// registers over its `in` rows, then go to y.
template <typename V, int NV, int BB>
METAEIK_SIMD_CLONES void messages_block(const float* x, const float* W, const float* basis,
                                        const EdgeArrays& g, const int64_t* from, const int64_t* to, float* y,
                                        int64_t in, int64_t out, int64_t o0) {
  constexpr int L = sizeof(V) / sizeof(float);
  constexpr int R = NV >= 4 ? 2 : NV == 2 ? 4 : 8;
  const int64_t N = g.num_nodes, n = in * out, xs = N * in, ys = N * out;
  for (int64_t p = 0; p < g.num_edges; ++p) {
    const int64_t e = g.cell_edges[p];
    const float* xr = x + from[e] * in;
    const int64_t* k = g.weight_index + e * 8;
    const float* b = basis + e * 8;
    const float* Ws[8];
    for (int s = 0; s < 8; ++s) Ws[s] = W + k[s] * n + o0;
    V acc[BB][NV] = {};
    int64_t c = 0;
    for (; c + R <= in; c += R) form_and_apply<V, NV, BB, R>(Ws, b, c, out, xr, xs, acc);
    for (; c < in; ++c) form_and_apply<V, NV, BB, 1>(Ws, b, c, out, xr, xs, acc);
    float* yr = y + to[e] * out + o0;
#pragma GCC unroll 5
    for (int bb = 0; bb < BB; ++bb)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) storev(yr + bb * ys + v * L, loadv<V>(yr + bb * ys + v * L) + acc[bb][v]);
  }
}

template <typename V, int NV>
void messages_maps(const float* x, const float* W, const float* basis, const EdgeArrays& g,
                   const int64_t* from, const int64_t* to, float* y, int64_t B, int64_t in, int64_t out,
                   int64_t o0) {
  const int64_t xs = g.num_nodes * in, ys = g.num_nodes * out;
  for (int64_t b0 = 0; b0 < B; b0 += 5) {
    const float* xb = x + b0 * xs;
    float* yb = y + b0 * ys;
    switch (std::min<int64_t>(5, B - b0)) {
      case 1:
        messages_block<V, NV, 1>(xb, W, basis, g, from, to, yb, in, out, o0);
        break;
      case 2:
        messages_block<V, NV, 2>(xb, W, basis, g, from, to, yb, in, out, o0);
        break;
      case 3:
        messages_block<V, NV, 3>(xb, W, basis, g, from, to, yb, in, out, o0);
        break;
      case 4:
        messages_block<V, NV, 4>(xb, W, basis, g, from, to, yb, in, out, o0);
        break;
      default:
        messages_block<V, NV, 5>(xb, W, basis, g, from, to, yb, in, out, o0);
        break;
    }
  }
}

// Rows c .. c + R of an edge's gradient Σ_b x_j[b, c] gs_i[b, :], spread over its eight kernels.
template <typename V, int NV, int R>
[[gnu::always_inline]] inline void spread_rows(const float* xr, int64_t xs, const float* gr, int64_t ys,
                                               int64_t B, const float* b, float* const* gWs, int64_t c) {
  constexpr int L = sizeof(V) / sizeof(float);
  constexpr int64_t out = NV * L;
  V q[R][NV] = {};
  for (int64_t bb = 0; bb < B; ++bb)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float a = xr[bb * xs + c + r];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) q[r][v] += a * loadv<V>(gr + bb * ys + v * L);
    }
#pragma GCC unroll 8
  for (int s = 0; s < 8; ++s)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float* gw = gWs[s] + (c + r) * out;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) storev(gw + v * L, loadv<V>(gw + v * L) + b[s] * q[r][v]);
    }
}

// weight_grad_generic with out = NV·L.
template <typename V, int NV>
METAEIK_SIMD_CLONES void weight_grad_block(const float* x, const float* gs, const float* basis,
                                           const EdgeArrays& g, float* gW, int64_t B, int64_t in, int64_t c0,
                                           int64_t c1) {
  constexpr int L = sizeof(V) / sizeof(float);
  constexpr int64_t out = NV * L;
  constexpr int R = NV >= 4 ? 2 : NV == 2 ? 4 : 8;
  const int64_t N = g.num_nodes, n = in * out, xs = N * in, ys = N * out;
  for (int64_t p = 0; p < g.num_edges; ++p) {
    const int64_t e = g.cell_edges[p];
    const int64_t* k = g.weight_index + e * 8;
    const float* b = basis + e * 8;
    const float* gr = gs + g.target[e] * out;
    const float* xr = x + g.source[e] * in;
    float* gWs[8];
    for (int s = 0; s < 8; ++s) gWs[s] = gW + k[s] * n;
    int64_t c = c0;
    for (; c + R <= c1; c += R) spread_rows<V, NV, R>(xr, xs, gr, ys, B, b, gWs, c);
    for (; c < c1; ++c) spread_rows<V, NV, 1>(xr, xs, gr, ys, B, b, gWs, c);
  }
}
#endif

template <typename T>
void messages(const T* x, const T* W, const T* basis, const EdgeArrays& g, const int64_t* from,
              const int64_t* to, T* y, int64_t B, int64_t in, int64_t out) {
#if defined(__GNUC__)
  if constexpr (std::is_same_v<T, float>) {
    if (out == 8) return messages_maps<Float8, 1>(x, W, basis, g, from, to, y, B, in, out, 0);
    if (out % 16 == 0) {
      // Column blocks of up to 64, one thread each.
      const int64_t width = out % 64 == 0 ? 64 : out % 32 == 0 ? 32 : 16;
      at::parallel_for(0, out / width, 1, [&](int64_t begin, int64_t end) {
        for (int64_t blk = begin; blk < end; ++blk) {
          if (width == 64)
            messages_maps<Float16, 4>(x, W, basis, g, from, to, y, B, in, out, blk * width);
          else if (width == 32)
            messages_maps<Float16, 2>(x, W, basis, g, from, to, y, B, in, out, blk * width);
          else
            messages_maps<Float16, 1>(x, W, basis, g, from, to, y, B, in, out, blk * width);
        }
      });
      return;
    }
  }
#endif
  messages_generic(x, W, basis, g, from, to, y, B, in, out, 0, out);
}

}  // namespace

template <typename T>
void fused_forward(const T* x, const T* W, const T* basis, const EdgeArrays& g, const T* inv, T* y, int64_t B,
                   int64_t in, int64_t out) {
  messages(x, W, basis, g, g.source, g.target, y, B, in, out);
  const int64_t N = g.num_nodes;
  at::parallel_for(0, B * N, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t o = 0; o < out; ++o) y[r * out + o] *= inv[r % N];
  });
}

template <typename T>
void fused_grad_x(const T* gs, const T* Wt, const T* basis, const EdgeArrays& g, T* gx, int64_t B, int64_t in,
                  int64_t out) {
  messages(gs, Wt, basis, g, g.target, g.source, gx, B, out, in);
}

template <typename T>
void fused_grad_weight(const T* x, const T* gs, const T* basis, const EdgeArrays& g, T* gW, int64_t B,
                       int64_t in, int64_t out) {
  at::parallel_for(0, in, 1, [&](int64_t c0, int64_t c1) {
#if defined(__GNUC__)
    if constexpr (std::is_same_v<T, float>) {
      switch (out) {
        case 8:
          return weight_grad_block<Float8, 1>(x, gs, basis, g, gW, B, in, c0, c1);
        case 16:
          return weight_grad_block<Float16, 1>(x, gs, basis, g, gW, B, in, c0, c1);
        case 32:
          return weight_grad_block<Float16, 2>(x, gs, basis, g, gW, B, in, c0, c1);
        case 64:
          return weight_grad_block<Float16, 4>(x, gs, basis, g, gW, B, in, c0, c1);
        case 128:
          return weight_grad_block<Float16, 8>(x, gs, basis, g, gW, B, in, c0, c1);
        default:
          break;
      }
    }
#endif
    weight_grad_generic(x, gs, basis, g, gW, B, in, out, c0, c1);
  });
}

#define METAEIK_FUSED_KERNELS(T)                                                                            \
  template void fused_forward<T>(const T*, const T*, const T*, const EdgeArrays&, const T*, T*, int64_t,    \
                                 int64_t, int64_t);                                                         \
  template void fused_grad_x<T>(const T*, const T*, const T*, const EdgeArrays&, T*, int64_t, int64_t,      \
                                int64_t);                                                                   \
  template void fused_grad_weight<T>(const T*, const T*, const T*, const EdgeArrays&, T*, int64_t, int64_t, \
                                     int64_t);
METAEIK_FUSED_KERNELS(float)
METAEIK_FUSED_KERNELS(double)
#undef METAEIK_FUSED_KERNELS

}  // namespace metaeik::metapinn::detail
