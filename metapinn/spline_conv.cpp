#include "metapinn/spline_conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "core/error.hpp"

namespace metaeik::metapinn {

namespace {
/// Edges grouped by node: (offsets [N+1], edge ids [E]) with node(edge) = `node`, stable order.
std::pair<torch::Tensor, torch::Tensor> csr(const torch::Tensor& node, int64_t N) {
  const int64_t E = node.size(0);
  auto offsets = torch::zeros({N + 1}, torch::kInt64), order = torch::empty({E}, torch::kInt64);
  auto n = node.accessor<int64_t, 1>();
  auto o = offsets.accessor<int64_t, 1>();
  auto e_of = order.accessor<int64_t, 1>();
  for (int64_t e = 0; e < E; ++e) ++o[n[e] + 1];
  for (int64_t i = 0; i < N; ++i) o[i + 1] += o[i];
  std::vector<int64_t> next(o.data(), o.data() + N);
  for (int64_t e = 0; e < E; ++e) e_of[next[n[e]]++] = e;
  return {offsets, order};
}
}  // namespace

SplineBasis spline_basis(const geometry::Graph& graph, int kernel_size, torch::Dtype dtype) {
  METAEIK_CHECK(kernel_size >= 2, "spline basis: kernel_size must be at least 2, got " << kernel_size);
  const int64_t E = graph.num_edges(), N = graph.num_nodes();
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  SplineBasis b;
  b.num_nodes = int(N);
  b.kernel_size = kernel_size;
  b.source = torch::empty({E}, i64);
  b.target = torch::empty({E}, i64);
  b.weight_index = torch::empty({E, 8}, i64);
  auto basis = torch::empty({E, 8}, torch::TensorOptions().dtype(torch::kFloat64));
  auto src = b.source.accessor<int64_t, 1>();
  auto dst = b.target.accessor<int64_t, 1>();
  auto wi = b.weight_index.accessor<int64_t, 2>();
  auto bv = basis.accessor<double, 2>();
  std::vector<double> degree(N, 0.0);
  for (int64_t e = 0; e < E; ++e) {
    src[e] = graph.edges(e, 0);
    dst[e] = graph.edges(e, 1);
    degree[dst[e]] += 1.0;
    // Open spline of degree 1: v = u·(K − 1); hat functions centred on the integers 0..K−1.
    int lo[3];
    double frac[3];
    for (int d = 0; d < 3; ++d) {
      const double v = std::clamp(graph.pseudo(e, d), 0.0, 1.0) * (kernel_size - 1);
      const double fl = std::floor(v);
      lo[d] = int(fl);
      frac[d] = v - fl;
    }
    for (int s = 0; s < 8; ++s) {
      double value = 1.0;
      int64_t index = 0, stride = 1;
      for (int d = 0; d < 3; ++d) {
        const int bit = (s >> d) & 1;
        value *= bit ? frac[d] : 1.0 - frac[d];
        index += int64_t((lo[d] + bit) % kernel_size) * stride;
        stride *= kernel_size;
      }
      wi[e][s] = index;
      bv[e][s] = value;
    }
  }
  b.basis = basis.to(dtype);
  auto inv = torch::zeros({N, 1}, torch::TensorOptions().dtype(torch::kFloat64));
  auto ia = inv.accessor<double, 2>();
  for (int64_t n = 0; n < N; ++n) ia[n][0] = degree[n] > 0 ? 1.0 / degree[n] : 0.0;
  b.inv_degree = inv.to(dtype);
  const int64_t K3 = int64_t(kernel_size) * kernel_size * kernel_size;
  auto rows = b.target.unsqueeze(1).expand({E, 8}).reshape({E * 8});
  auto cols = (b.source.unsqueeze(1) * K3 + b.weight_index).reshape({E * 8});
  auto vals = (basis * inv.index_select(0, b.target)).reshape({E * 8});
  b.aggregate = torch::sparse_coo_tensor(torch::stack({rows, cols}), vals, {N, N * K3}).coalesce().to(dtype);
  auto edges = torch::arange(E, torch::kInt64);
  b.kernel =
      torch::sparse_coo_tensor(
          torch::stack({edges.unsqueeze(1).expand({E, 8}).reshape({E * 8}), b.weight_index.reshape({E * 8})}),
          basis.reshape({E * 8}), {E, K3})
          .coalesce()
          .to(dtype);
  std::tie(b.in_offsets, b.in_edges) = csr(b.target, N);
  std::tie(b.out_offsets, b.out_edges) = csr(b.source, N);
  std::tie(b.kernel_offsets, b.kernel_entries) = csr(b.weight_index.reshape({E * 8}), K3);
  return b;
}

std::vector<GraphLevel> graph_levels(const geometry::GraphHierarchy& hierarchy, int kernel_size,
                                     torch::Dtype dtype) {
  std::vector<GraphLevel> levels(hierarchy.levels.size());
  for (std::size_t l = 0; l < levels.size(); ++l) {
    levels[l].basis = spline_basis(hierarchy.levels[l], kernel_size, dtype);
    if (l + 1 < levels.size()) {
      const Eigen::VectorXi& c = hierarchy.cluster[l];
      const int nc = hierarchy.levels[l + 1].num_nodes();
      levels[l].num_coarse = nc;
      levels[l].cluster = torch::empty({c.size()}, torch::kInt64);
      auto ca = levels[l].cluster.accessor<int64_t, 1>();
      std::vector<double> count(nc, 0.0);
      for (int n = 0; n < c.size(); ++n) {
        ca[n] = c[n];
        count[c[n]] += 1.0;
      }
      levels[l].cluster_count = torch::from_blob(count.data(), {nc, 1}, torch::kFloat64).clone().to(dtype);
      auto idx = torch::stack({levels[l].cluster, torch::arange(int64_t(c.size()), torch::kInt64)});
      auto val = 1.0 / levels[l].cluster_count.view({-1}).index_select(0, levels[l].cluster);
      levels[l].pooling = torch::sparse_coo_tensor(idx, val, {nc, int64_t(c.size())}).coalesce().to(dtype);
    }
  }
  return levels;
}

std::vector<GraphLevel> to(const std::vector<GraphLevel>& levels, torch::Device device, torch::Dtype dtype) {
  auto move = [&](const torch::Tensor& t) {
    if (!t.defined()) return t;
    return t.is_floating_point() ? t.to(device, dtype) : t.to(device);
  };
  std::vector<GraphLevel> out = levels;
  for (auto& l : out) {
    l.basis.source = move(l.basis.source);
    l.basis.target = move(l.basis.target);
    l.basis.weight_index = move(l.basis.weight_index);
    l.basis.basis = move(l.basis.basis);
    l.basis.inv_degree = move(l.basis.inv_degree);
    l.basis.aggregate = move(l.basis.aggregate);
    l.basis.kernel = move(l.basis.kernel);
    for (auto* t : {&l.basis.in_offsets, &l.basis.in_edges, &l.basis.out_offsets, &l.basis.out_edges,
                    &l.basis.kernel_offsets, &l.basis.kernel_entries})
      *t = move(*t);
    l.pooling = move(l.pooling);
    l.cluster = move(l.cluster);
    l.cluster_count = move(l.cluster_count);
  }
  return out;
}

namespace functional {

namespace {

// The per-edge loops of edge_messages, compiled for AVX-512 and AVX2 + FMA as well as the baseline
// x86-64 and picked at load time by the CPU (GCC function multiversioning).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define METAEIK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define METAEIK_SIMD_CLONES
#endif

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

template <typename WT, int OUT8, int BB>
METAEIK_SIMD_CLONES void node_messages(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                                       const float* x, int64_t xs, int64_t in, float scale, float* y,
                                       int64_t ys) {
  constexpr int64_t out = 8 * OUT8;
  Float8 acc[BB][OUT8] = {};
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
#pragma GCC unroll 4
      for (int b = 0; b < BB; ++b) a[b] = xr[b * xs + c];
#pragma GCC unroll 16
      for (int k = 0; k < OUT8; ++k) {
        const Float8 w = load8(W + 8 * k);
#pragma GCC unroll 4
        for (int b = 0; b < BB; ++b) acc[b][k] += a[b] * w;
      }
    }
  }
#pragma GCC unroll 4
  for (int b = 0; b < BB; ++b)
#pragma GCC unroll 16
    for (int k = 0; k < OUT8; ++k) {
      const Float8 v = acc[b][k] * scale;
      __builtin_memcpy(y + b * ys + 8 * k, &v, sizeof v);
    }
}

// Maps per block for out = 8·OUT8: BB·(OUT8 + 1) vector registers of 32 in use.
template <int OUT8>
constexpr int kMapsPerBlock = OUT8 >= 16  ? 1
                              : OUT8 >= 8 ? 3
                                          : 4;

template <typename WT, int OUT8>
void node_messages_blocks(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                          const float* x, int64_t xs, int64_t in, float scale, float* y, int64_t ys,
                          int64_t B) {
  for (int64_t b0 = 0; b0 < B; b0 += kMapsPerBlock<OUT8>) {
    const float* xb = x + b0 * xs;
    float* yb = y + b0 * ys;
    switch (std::min<int64_t>(kMapsPerBlock<OUT8>, B - b0)) {
      case 1:
        node_messages<WT, OUT8, 1>(we, edges, count, src, xb, xs, in, scale, yb, ys);
        break;
      case 2:
        node_messages<WT, OUT8, 2>(we, edges, count, src, xb, xs, in, scale, yb, ys);
        break;
      case 3:
        node_messages<WT, OUT8, 3>(we, edges, count, src, xb, xs, in, scale, yb, ys);
        break;
      default:
        node_messages<WT, OUT8, 4>(we, edges, count, src, xb, xs, in, scale, yb, ys);
        break;
    }
  }
}

/// Register-blocked forward of one node if `out` is one of its widths (8, 16, 32, 64, 128).
template <typename WT>
bool blocked_node_messages(const WT* we, const int64_t* edges, int64_t count, const int64_t* src,
                           const float* x, int64_t xs, int64_t in, int64_t out, float scale, float* y,
                           int64_t ys, int64_t B) {
  switch (out) {
    case 8:
      node_messages_blocks<WT, 1>(we, edges, count, src, x, xs, in, scale, y, ys, B);
      return true;
    case 16:
      node_messages_blocks<WT, 2>(we, edges, count, src, x, xs, in, scale, y, ys, B);
      return true;
    case 32:
      node_messages_blocks<WT, 4>(we, edges, count, src, x, xs, in, scale, y, ys, B);
      return true;
    case 64:
      node_messages_blocks<WT, 8>(we, edges, count, src, x, xs, in, scale, y, ys, B);
      return true;
    case 128:
      node_messages_blocks<WT, 16>(we, edges, count, src, x, xs, in, scale, y, ys, B);
      return true;
    default:
      return false;
  }
}
#endif

// Loops of edge_messages on contiguous CPU tensors; y, gx and gwe start at zero. Each output row
// is written by one thread only, so any thread count gives the same bits.
template <typename T, typename WT>
void messages_forward(const T* x, const WT* we, const SplineBasis& g, T* y, int64_t B, int64_t in,
                      int64_t out) {
  const int64_t N = g.num_nodes;
  const int64_t* off = g.in_offsets.data_ptr<int64_t>();
  const int64_t* edges = g.in_edges.data_ptr<int64_t>();
  const int64_t* src = g.source.data_ptr<int64_t>();
  const T* inv = g.inv_degree.data_ptr<T>();
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
void messages_grad_x(const T* g_y, const T* we, const SplineBasis& g, T* gx, int64_t B, int64_t in,
                     int64_t out) {
  const int64_t N = g.num_nodes;
  const int64_t* off = g.out_offsets.data_ptr<int64_t>();
  const int64_t* edges = g.out_edges.data_ptr<int64_t>();
  const int64_t* dst = g.target.data_ptr<int64_t>();
  const T* inv = g.inv_degree.data_ptr<T>();
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
void messages_grad_weights(const T* x, const T* g_y, const SplineBasis& g, T* gwe, int64_t B, int64_t in,
                           int64_t out) {
  const int64_t N = g.num_nodes, E = g.source.size(0);
  const int64_t* src = g.source.data_ptr<int64_t>();
  const int64_t* dst = g.target.data_ptr<int64_t>();
  const T* inv = g.inv_degree.data_ptr<T>();
  at::parallel_for(0, E, 16, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e)
      add_outer_products(x + src[e] * in, N * in, g_y + dst[e] * out, N * out, inv[dst[e]],
                         gwe + e * in * out, B, in, out);
  });
}

struct EdgeMessages : torch::autograd::Function<EdgeMessages> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& we_in, const SplineBasis* basis) {
    auto x = x_in.contiguous(), we = we_in.contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = we.size(2);
    auto y = torch::zeros({B, x.size(1), out}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "edge_messages", [&] {
      messages_forward(x.data_ptr<scalar_t>(), we.data_ptr<scalar_t>(), *basis, y.data_ptr<scalar_t>(), B, in,
                       out);
    });
    ctx->save_for_backward({x, we});
    // The graph's index tensors (shared, not copied), so the backward does not rely on `basis`.
    ctx->saved_data["source"] = basis->source;
    ctx->saved_data["target"] = basis->target;
    ctx->saved_data["inv_degree"] = basis->inv_degree;
    ctx->saved_data["out_offsets"] = basis->out_offsets;
    ctx->saved_data["out_edges"] = basis->out_edges;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& we = saved[1];
    SplineBasis basis;
    basis.num_nodes = int(x.size(1));
    basis.source = ctx->saved_data["source"].toTensor();
    basis.target = ctx->saved_data["target"].toTensor();
    basis.inv_degree = ctx->saved_data["inv_degree"].toTensor();
    basis.out_offsets = ctx->saved_data["out_offsets"].toTensor();
    basis.out_edges = ctx->saved_data["out_edges"].toTensor();
    auto g = grads[0].contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = we.size(2);
    torch::Tensor gx, gwe;
    if (ctx->needs_input_grad(0)) gx = torch::zeros_like(x);
    if (ctx->needs_input_grad(1)) gwe = torch::zeros_like(we);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "edge_messages_backward", [&] {
      if (gx.defined())
        messages_grad_x(g.data_ptr<scalar_t>(), we.data_ptr<scalar_t>(), basis, gx.data_ptr<scalar_t>(), B,
                        in, out);
      if (gwe.defined())
        messages_grad_weights(x.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), basis, gwe.data_ptr<scalar_t>(),
                              B, in, out);
    });
    return {gx, gwe, torch::Tensor()};
  }
};

// W_e = Σ_s b_s W_{k_s}; backward: gW_k = Σ over the entries (e, s) of kernel k of b_s gW_e.
// Threads own edges (forward) or kernels (backward), so results do not depend on their number.
struct EdgeWeights : torch::autograd::Function<EdgeWeights> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight_in,
                               const SplineBasis* basis) {
    auto weight = weight_in.contiguous();
    const int64_t E = basis->source.size(0), n = weight.size(1) * weight.size(2);
    auto we = torch::zeros({E, weight.size(1), weight.size(2)}, weight.options());
    const int64_t* index = basis->weight_index.data_ptr<int64_t>();
    AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "edge_weights", [&] {
      const scalar_t* W = weight.data_ptr<scalar_t>();
      const scalar_t* b = basis->basis.data_ptr<scalar_t>();
      scalar_t* out = we.data_ptr<scalar_t>();
      at::parallel_for(0, E, 64, [&](int64_t begin, int64_t end) {
        for (int64_t e = begin; e < end; ++e)
          for (int s = 0; s < 8; ++s) add_scaled(W + index[e * 8 + s] * n, b[e * 8 + s], out + e * n, n);
      });
    });
    ctx->saved_data["basis"] = basis->basis;
    ctx->saved_data["kernel_offsets"] = basis->kernel_offsets;
    ctx->saved_data["kernel_entries"] = basis->kernel_entries;
    ctx->saved_data["shape"] = weight.sizes();
    return we;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = grads[0].contiguous();
    const auto b = ctx->saved_data["basis"].toTensor();
    const auto offsets = ctx->saved_data["kernel_offsets"].toTensor();
    const auto entries = ctx->saved_data["kernel_entries"].toTensor();
    auto gW = torch::zeros(ctx->saved_data["shape"].toIntVector(), g.options());
    const int64_t K3 = gW.size(0), n = gW.size(1) * gW.size(2);
    const int64_t* off = offsets.data_ptr<int64_t>();
    const int64_t* entry = entries.data_ptr<int64_t>();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "edge_weights_backward", [&] {
      const scalar_t* gw = g.data_ptr<scalar_t>();
      const scalar_t* bv = b.data_ptr<scalar_t>();
      scalar_t* out = gW.data_ptr<scalar_t>();
      at::parallel_for(0, K3, 1, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k)
          for (int64_t p = off[k]; p < off[k + 1]; ++p)
            add_scaled(gw + (entry[p] / 8) * n, bv[entry[p]], out + k * n, n);
      });
    });
    return {gW, torch::Tensor()};
  }
};

}  // namespace

bool half_edge_weights_available() {
#if defined(__GNUC__)
  return true;
#else
  return false;
#endif
}

torch::Tensor edge_messages(const torch::Tensor& x, const SplineBasis& basis,
                            const torch::Tensor& edge_weights) {
  TORCH_CHECK(x.device().is_cpu() && edge_weights.device().is_cpu(), "edge_messages: CPU tensors only");
  TORCH_CHECK(x.dim() == 3 && x.size(1) == basis.num_nodes && edge_weights.dim() == 3 &&
                  edge_weights.size(0) == basis.source.size(0) && edge_weights.size(1) == x.size(2),
              "edge_messages: need x [B, N, in] and edge weights [E, in, out] of the graph");
  TORCH_CHECK(x.scalar_type() == basis.inv_degree.scalar_type(),
              "edge_messages: x and the graph must have one type");
  RECORD_FUNCTION("metaeik::edge_messages", std::vector<c10::IValue>({x, edge_weights}));
  if (edge_weights.scalar_type() == torch::kHalf) {
    TORCH_CHECK(half_edge_weights_available() && x.scalar_type() == torch::kFloat32,
                "edge_messages: half-precision edge weights need single-precision features");
    TORCH_CHECK(!torch::GradMode::is_enabled() || !x.requires_grad(),
                "edge_messages: half-precision edge weights are for inference (no gradients)");
    auto xc = x.contiguous(), we = edge_weights.contiguous();
    auto y = torch::zeros({xc.size(0), xc.size(1), we.size(2)}, xc.options());
    messages_forward(xc.data_ptr<float>(), reinterpret_cast<const uint16_t*>(we.data_ptr<at::Half>()), basis,
                     y.data_ptr<float>(), xc.size(0), xc.size(2), we.size(2));
    return y;
  }
  TORCH_CHECK(x.scalar_type() == edge_weights.scalar_type(),
              "edge_messages: x and the edge weights must have one type");
  return EdgeMessages::apply(x, edge_weights, &basis);
}

torch::Tensor spline_edge_weights(const SplineBasis& basis, const torch::Tensor& weight) {
  const int64_t K3 = weight.size(0), in = weight.size(1), out = weight.size(2);
  TORCH_CHECK(K3 == int64_t(basis.kernel_size) * basis.kernel_size * basis.kernel_size,
              "spline_edge_weights: weight has ", K3, " kernels, the basis ", basis.kernel_size, "^3");
  if (weight.is_cpu() && basis.basis.is_cpu() && weight.scalar_type() == basis.basis.scalar_type())
    return EdgeWeights::apply(weight, &basis);
  return torch::mm(basis.kernel, weight.reshape({K3, in * out})).view({basis.source.size(0), in, out});
}

torch::Tensor spline_conv(const torch::Tensor& x_in, const SplineBasis& basis, const torch::Tensor& weight,
                          const torch::Tensor& root, const torch::Tensor& bias, SplinePath path,
                          const torch::Tensor& edge_weights) {
  const bool batched = x_in.dim() == 3;
  TORCH_CHECK(x_in.dim() == 2 || batched, "spline_conv: x must be [N, in] or [B, N, in]");
  torch::Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t B = x.size(0), N = x.size(1), in = x.size(2);
  const int64_t K3 = weight.size(0), out = weight.size(2);
  TORCH_CHECK(N == basis.num_nodes, "spline_conv: x has ", N, " nodes, the graph ", basis.num_nodes);
  TORCH_CHECK(weight.dim() == 3 && weight.size(1) == in, "spline_conv: weight must be [K^3, ", in, ", out]");
  TORCH_CHECK(root.size(0) == in && root.size(1) == out, "spline_conv: root must be [in, out]");

  torch::Tensor agg;  // [B, N, out]
  if (path == SplinePath::kAggregate) {
    // x W_k for every node and kernel, laid out [N·K³, B·out], then one sparse product.
    auto xw =
        x.permute({1, 0, 2}).reshape({N * B, in}).matmul(weight.permute({1, 0, 2}).reshape({in, K3 * out}));
    xw = xw.view({N, B, K3, out}).permute({0, 2, 1, 3}).reshape({N * K3, B * out});
    agg = torch::mm(basis.aggregate, xw).view({N, B, out}).permute({1, 0, 2});
  } else {
    auto we = edge_weights.defined() ? edge_weights : spline_edge_weights(basis, weight);
    if (path == SplinePath::kEdgeMessages && x.device().is_cpu()) {
      agg = edge_messages(x, basis, we);
    } else {
      // Messages x_j W_e batched over the edges, summed per target, scaled by 1/|N(i)|.
      auto xj = x.index_select(1, basis.source).permute({1, 0, 2});  // [E, B, in]
      auto messages = torch::bmm(xj, we).permute({1, 0, 2});         // [B, E, out]
      agg = torch::zeros({B, N, out}, x.options()).index_add(1, basis.target, messages) * basis.inv_degree;
    }
  }
  auto y = agg + x.matmul(root);
  if (bias.defined()) y = y + bias;
  return batched ? y : y.squeeze(0);
}

torch::Tensor pool_mean(const torch::Tensor& x, const GraphLevel& level) {
  TORCH_CHECK(level.cluster.defined(), "pool_mean: the last level has no coarser level");
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  auto flat = x.permute({1, 0, 2}).reshape({N, B * C});
  return torch::mm(level.pooling, flat).view({int64_t(level.num_coarse), B, C}).permute({1, 0, 2});
}

}  // namespace functional

SplineConvImpl::SplineConvImpl(SplineConvOptions options_) : options(std::move(options_)) { reset(); }

void SplineConvImpl::reset() {
  const int64_t K3 = options.kernel_size() * options.kernel_size() * options.kernel_size();
  const int64_t in = options.in_channels(), out = options.out_channels();
  // A degree-1 B-spline basis sums to one over the 8 active kernels of an edge, so the effective
  // fan-in of both the neighbour and the root term is `in` (not in·K³ as in torch_geometric's
  // uniform(±1/sqrt(in·K³)), which shrinks the signal ~11× per layer through a deep encoder).
  // Uniform(±sqrt(3/in)) gives unit-variance weights per input channel.
  const double bound = std::sqrt(3.0 / double(in));
  weight = register_parameter("weight", torch::empty({K3, in, out}).uniform_(-bound, bound));
  root = register_parameter("root", torch::empty({in, out}).uniform_(-bound, bound));
  if (options.bias())
    bias = register_parameter("bias", torch::zeros({out}));
  else
    bias = torch::Tensor();
}

torch::Tensor SplineConvImpl::forward(const torch::Tensor& x, const SplineBasis& basis) {
  TORCH_CHECK(basis.kernel_size == options.kernel_size(), "SplineConv: basis kernel size ", basis.kernel_size,
              " does not match the layer's ", options.kernel_size());
  if (torch::GradMode::is_enabled()) return functional::spline_conv(x, basis, weight, root, bias);
  if (!cache_.graph.is_same(basis.source) || !cache_.weight.is_same(weight) ||
      cache_.version != int64_t(weight._version()))
    cache_ = {
        basis.source, weight, int64_t(weight._version()), functional::spline_edge_weights(basis, weight), {}};
  // One map at a time the pass is bound by streaming the edge weights: half precision pays.
  // Several maps share each weight and make it compute-bound, where widening costs more.
  const bool one_map = x.dim() == 2 || x.size(0) == 1;
  if (one_map && functional::half_edge_weights_available() && x.is_cpu() &&
      x.scalar_type() == torch::kFloat32) {
    if (!cache_.half_edge_weights.defined()) cache_.half_edge_weights = cache_.edge_weights.to(torch::kHalf);
    return functional::spline_conv(x, basis, weight, root, bias, functional::SplinePath::kEdgeMessages,
                                   cache_.half_edge_weights);
  }
  return functional::spline_conv(x, basis, weight, root, bias, functional::SplinePath::kEdgeMessages,
                                 cache_.edge_weights);
}

}  // namespace metaeik::metapinn
