#include "metapinn/spline_kernels.hpp"

#include <ATen/Parallel.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "metapinn/simd_clones.hpp"

namespace metaeik::metapinn::detail {

namespace {

// Weights as numbers: single or double precision, or binary16 bits (half-precision edge weights).
inline float weight_value(float w) { return w; }
inline double weight_value(double w) { return w; }
inline float weight_value(uint16_t h) { return c10::detail::fp16_ieee_to_fp32_value(h); }

// y[b, :] += x[b, :] W for b < B (x rows `xs` apart, y rows `ys` apart; W [in, out]).
template <typename T, typename WT>
METAEIK_SIMD_CLONES void add_product(const WT* W, const T* x, int64_t xs, T* __restrict y, int64_t ys,
                                     int64_t B, int64_t in, int64_t out) {
  for (int64_t c = 0; c < in; ++c, W += out)
    for (int64_t b = 0; b < B; ++b) {
      const T a = x[b * xs + c];
      T* __restrict yr = y + b * ys;
      for (int64_t o = 0; o < out; ++o) yr[o] += a * T(weight_value(W[o]));
    }
}

// Σ_o a[o]·w[o]. Floats in eight interleaved partial sums (a fixed order, so still deterministic),
// which the compiler may vectorise; a single running sum may not be reordered.
template <typename T>
inline T dot(const T* a, const T* w, int64_t n) {
  T sum = 0;
  for (int64_t o = 0; o < n; ++o) sum += a[o] * w[o];
  return sum;
}
template <>
inline float dot(const float* a, const float* w, int64_t n) {
  float part[8] = {};
  int64_t o = 0;
  for (; o + 8 <= n; o += 8)
    for (int l = 0; l < 8; ++l) part[l] += a[o + l] * w[o + l];
  float sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (; o < n; ++o) sum += a[o] * w[o];
  return sum;
}

// gx[b, :] += scale · W g[b, :]ᵀ.
template <typename T>
METAEIK_SIMD_CLONES void add_transposed_product(const T* W, const T* g, int64_t gs, T scale, T* __restrict gx,
                                                int64_t gxs, int64_t B, int64_t in, int64_t out) {
  for (int64_t c = 0; c < in; ++c, W += out)
    for (int64_t b = 0; b < B; ++b) gx[b * gxs + c] += scale * dot(g + b * gs, W, out);
}

// W += scale · Σ_b x[b, :]ᵀ g[b, :].
template <typename T>
METAEIK_SIMD_CLONES void add_outer_products(const T* x, int64_t xs, const T* g, int64_t gs, T scale,
                                            T* __restrict W, int64_t B, int64_t in, int64_t out) {
  for (int64_t c = 0; c < in; ++c, W += out)
    for (int64_t b = 0; b < B; ++b) {
      const T a = scale * x[b * xs + c];
      const T* __restrict gr = g + b * gs;
      for (int64_t o = 0; o < out; ++o) W[o] += a * gr[o];
    }
}

// y += a·w over n entries.
template <typename T>
METAEIK_SIMD_CLONES void add_scaled(const T* w, T a, T* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * w[i];
}

#if defined(__GNUC__)
// Forward messages of one target node in single precision, register-blocked: the sums of BB maps
// stay in 8-wide vector registers over all of the node's incoming edges (out = 8·OUT8), so W_e
// is read once per BB maps and y written once. Edges whose source features are all zero in these
// maps (unobserved nodes on the finest level) are skipped without touching W_e.
using Float8 = float __attribute__((vector_size(32)));
using Bits8 = uint32_t __attribute__((vector_size(32)));
using Short8 = uint16_t __attribute__((vector_size(16)));

// Eight weights as floats, from single precision or from binary16 bits. The binary16 widening
// handles finite values (normal and subnormal): exponent and mantissa shifted into place, then
// scaled by 2^(127 − 15); the sign bit goes back on top.
inline Float8 load8(const float* w) {
  Float8 v;
  __builtin_memcpy(&v, w, sizeof v);
  return v;
}
inline Float8 load8(const uint16_t* h) {
  Short8 s;
  __builtin_memcpy(&s, h, sizeof s);
  const Bits8 u = __builtin_convertvector(s, Bits8);
  const Bits8 magnitude = (u & 0x7fffu) << 13;
  Float8 v;
  __builtin_memcpy(&v, &magnitude, sizeof v);
  v *= 0x1p112f;
  Bits8 bits;
  __builtin_memcpy(&bits, &v, sizeof bits);
  bits |= (u & 0x8000u) << 16;
  __builtin_memcpy(&v, &bits, sizeof v);
  return v;
}

// Single-precision weights may also go in 16-wide vectors (AVX-512 registers on x86-64-v4): the same
// sums per element (so the same bits), but W_e is read once for up to five maps (the k context maps)
// instead of twice.
using Float16 = float __attribute__((vector_size(64)));

template <typename V>
constexpr int kLanes = int(sizeof(V) / sizeof(float));

template <typename V, typename WT>
inline V load_lanes(const WT* w) {
  if constexpr (std::is_same_v<V, Float8>) {
    return load8(w);
  } else {
    V v;
    __builtin_memcpy(&v, w, sizeof v);
    return v;
  }
}

// out = L·NV with L the lanes of V; the sums of BB maps stay in vector registers.
template <typename V, typename WT, int NV, int BB>
METAEIK_SIMD_CLONES void node_messages(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                                       const float* x, int64_t xs, int64_t in, float scale, float* y,
                                       int64_t ys) {
  constexpr int L = kLanes<V>;
  constexpr int64_t out = L * NV;
  V acc[BB][NV] = {};
  for (int64_t p = 0; p < count; ++p) {
    const int64_t e = edges[p];
    const float* xr = x + src[e] * in;
    bool zero = true;
    for (int b = 0; b < BB && zero; ++b)
      for (int64_t c = 0; c < in; ++c)
        if (xr[b * xs + c] != 0.0f) {
          zero = false;
          break;
        }
    if (zero) continue;
    const WT* W = we + e * in * out;
    for (int64_t c = 0; c < in; ++c, W += out) {
      float a[BB];
#pragma GCC unroll 5
      for (int b = 0; b < BB; ++b) a[b] = xr[b * xs + c];
#pragma GCC unroll 16
      for (int k = 0; k < NV; ++k) {
        const V w = load_lanes<V>(W + L * k);
#pragma GCC unroll 5
        for (int b = 0; b < BB; ++b) acc[b][k] += a[b] * w;
      }
    }
  }
#pragma GCC unroll 5
  for (int b = 0; b < BB; ++b)
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) {
      const V v = acc[b][k] * scale;
      __builtin_memcpy(y + b * ys + L * k, &v, sizeof v);
    }
}

// Maps per block: BB·(NV + 1) vector registers of 32 in use.
template <typename V, int NV>
constexpr int kMapsPerBlock = std::is_same_v<V, Float16> ? (NV >= 8 ? 3 : 5)
                                                         : (NV >= 16  ? 1
                                                            : NV >= 8 ? 3
                                                                      : 4);

// node_messages for the `maps` (1..BB) maps of one block.
template <typename V, typename WT, int NV, int BB>
void node_messages_upto(int maps, const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                        const float* x, int64_t xs, int64_t in, float scale, float* y, int64_t ys) {
  if constexpr (BB > 1)
    if (maps < BB)
      return node_messages_upto<V, WT, NV, BB - 1>(maps, we, edges, count, src, x, xs, in, scale, y, ys);
  node_messages<V, WT, NV, BB>(we, edges, count, src, x, xs, in, scale, y, ys);
}

template <typename V, typename WT, int NV>
void node_messages_blocks(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                          const float* x, int64_t xs, int64_t in, float scale, float* y, int64_t ys,
                          int64_t B) {
  constexpr int kMaps = kMapsPerBlock<V, NV>;
  for (int64_t b0 = 0; b0 < B; b0 += kMaps)
    node_messages_upto<V, WT, NV, kMaps>(int(std::min<int64_t>(kMaps, B - b0)), we, edges, count, src,
                                         x + b0 * xs, xs, in, scale, y + b0 * ys, ys);
}

// node_messages_blocks for out = L·NV, L·2NV, … up to 128 (L the lanes of V); false for other widths.
template <typename V, typename WT, int NV = 1>
bool node_messages_width(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                         const float* x, int64_t xs, int64_t in, int64_t out, float scale, float* y,
                         int64_t ys, int64_t B) {
  if (out == kLanes<V> * NV) {
    node_messages_blocks<V, WT, NV>(we, edges, count, src, x, xs, in, scale, y, ys, B);
    return true;
  }
  if constexpr (kLanes<V> * NV < 128)
    return node_messages_width<V, WT, 2 * NV>(we, edges, count, src, x, xs, in, out, scale, y, ys, B);
  return false;
}

/// Register-blocked forward of one node if `out` is one of its widths (8, 16, 32, 64, 128); several
/// maps of single-precision weights go in 16-wide vectors.
template <typename WT>
bool blocked_node_messages(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                           const float* x, int64_t xs, int64_t in, int64_t out, float scale, float* y,
                           int64_t ys, int64_t B) {
  if constexpr (std::is_same_v<WT, float>)
    if (B > 1 && node_messages_width<Float16, float>(we, edges, count, src, x, xs, in, out, scale, y, ys, B))
      return true;
  return node_messages_width<Float8, WT>(we, edges, count, src, x, xs, in, out, scale, y, ys, B);
}
#endif

}  // namespace

bool half_weights_available() {
#if defined(__GNUC__)
  return true;
#else
  return false;
#endif
}

// Loops of edge_messages on contiguous CPU tensors; y, gx and gwe start at zero. Each output row
// is written by one thread only, so any thread count gives the same bits.
template <typename T, typename WT>
void messages_forward(const T* x, const WT* we, const EdgeArrays& g, const T* inv, T* y, int64_t B,
                      int64_t in, int64_t out) {
  const int64_t N = g.num_nodes;
  const int64_t* off = g.in_offsets;
  const int64_t* edges = g.in_edges;
  const int64_t* src = g.source;
  at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
#if defined(__GNUC__)
      if constexpr (std::is_same_v<T, float>)
        if (blocked_node_messages(we, edges + off[i], off[i + 1] - off[i], src, x, N * in, in, out, inv[i],
                                  y + i * out, N * out, B))
          continue;
#endif
      for (int64_t p = off[i]; p < off[i + 1]; ++p) {
        const int64_t e = edges[p];
        add_product(we + e * in * out, x + src[e] * in, N * in, y + i * out, N * out, B, in, out);
      }
      for (int64_t b = 0; b < B; ++b)
        for (int64_t o = 0; o < out; ++o) y[(b * N + i) * out + o] *= inv[i];
    }
  });
}

// gx[b, j, :] = Σ over edges e = (j → i) of W_e g[b, i, :] / |N(i)|.
template <typename T>
void messages_grad_x(const T* g_y, const T* we, const EdgeArrays& g, const T* inv, T* gx, int64_t B,
                     int64_t in, int64_t out) {
  const int64_t N = g.num_nodes;
  const int64_t* off = g.out_offsets;
  const int64_t* edges = g.out_edges;
  const int64_t* dst = g.target;
  at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j)
      for (int64_t p = off[j]; p < off[j + 1]; ++p) {
        const int64_t e = edges[p], i = dst[e];
        add_transposed_product(we + e * in * out, g_y + i * out, N * out, inv[i], gx + j * in, N * in, B, in,
                               out);
      }
  });
}

// gwe[e] = Σ_b x[b, j, :]ᵀ g[b, i, :] / |N(i)| for e = (j → i).
template <typename T>
void messages_grad_weights(const T* x, const T* g_y, const EdgeArrays& g, const T* inv, T* gwe, int64_t B,
                           int64_t in, int64_t out) {
  const int64_t N = g.num_nodes, E = g.num_edges;
  const int64_t* src = g.source;
  const int64_t* dst = g.target;
  at::parallel_for(0, E, 16, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e)
      add_outer_products(x + src[e] * in, N * in, g_y + dst[e] * out, N * out, inv[dst[e]],
                         gwe + e * in * out, B, in, out);
  });
}

template <typename T>
void edge_weights_forward(const T* W, const T* basis, const EdgeArrays& g, T* we, int64_t n) {
  const int64_t* index = g.weight_index;
  at::parallel_for(0, g.num_edges, 64, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e)
      for (int s = 0; s < 8; ++s) add_scaled(W + index[e * 8 + s] * n, basis[e * 8 + s], we + e * n, n);
  });
}

template <typename T>
void edge_weights_backward(const T* gwe, const T* basis, const EdgeArrays& g, T* gW, int64_t K3, int64_t n) {
  const int64_t* off = g.kernel_offsets;
  const int64_t* entry = g.kernel_entries;
  at::parallel_for(0, K3, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      for (int64_t p = off[k]; p < off[k + 1]; ++p)
        add_scaled(gwe + (entry[p] / 8) * n, basis[entry[p]], gW + k * n, n);
  });
}

#define METAEIK_SPLINE_KERNELS(T)                                                                         \
  template void messages_forward<T, T>(const T*, const T*, const EdgeArrays&, const T*, T*, int64_t,      \
                                       int64_t, int64_t);                                                 \
  template void messages_grad_x<T>(const T*, const T*, const EdgeArrays&, const T*, T*, int64_t, int64_t, \
                                   int64_t);                                                              \
  template void messages_grad_weights<T>(const T*, const T*, const EdgeArrays&, const T*, T*, int64_t,    \
                                         int64_t, int64_t);                                               \
  template void edge_weights_forward<T>(const T*, const T*, const EdgeArrays&, T*, int64_t);              \
  template void edge_weights_backward<T>(const T*, const T*, const EdgeArrays&, T*, int64_t, int64_t);
METAEIK_SPLINE_KERNELS(float)
METAEIK_SPLINE_KERNELS(double)
#undef METAEIK_SPLINE_KERNELS
template void messages_forward<float, uint16_t>(const float*, const uint16_t*, const EdgeArrays&,
                                                const float*, float*, int64_t, int64_t, int64_t);

}  // namespace metaeik::metapinn::detail
