#pragma once
// The CPU loops behind metapinn::functional::spline_conv (metapinn/spline_conv.hpp), on raw arrays:
// kept apart from the autograd functions so that this file needs no LibTorch headers but ATen's
// parallel_for. Every output element is summed by one thread in a fixed order, so any thread count
// gives the same bits.

#include <cstdint>

namespace metaeik::metapinn::detail {

/// One graph's edge lists as raw arrays (views of a SplineBasis' tensors; see spline_basis.hpp).
struct EdgeArrays {
  int64_t num_nodes = 0, num_edges = 0;
  const int64_t* source = nullptr;          ///< #E, j of edge e = (j → i)
  const int64_t* target = nullptr;          ///< #E, i
  const int64_t* in_offsets = nullptr;      ///< #N+1, edges by target (CSR)
  const int64_t* in_edges = nullptr;        ///< #E
  const int64_t* out_offsets = nullptr;     ///< #N+1, edges by source (CSR)
  const int64_t* out_edges = nullptr;       ///< #E
  const int64_t* weight_index = nullptr;    ///< #E×8 kernel index of each corner
  const int64_t* kernel_offsets = nullptr;  ///< K³+1, the (edge, corner) entries by kernel (CSR)
  const int64_t* kernel_entries = nullptr;  ///< #E·8, entries e·8 + s
  const int64_t* cell_edges = nullptr;      ///< #E, edges grouped by spline cell
};

/// Whether messages_forward runs on binary16 edge weights (`uint16_t` bits) in this build.
bool half_weights_available();

/// y[b, i, :] = inv[i] Σ over edges e = (j → i) of x[b, j, :] W_e; x [B, N, in], we [E, in, out],
/// y [B, N, out] (zero on entry). T float or double; WT = T, or uint16_t (binary16) with T float.
template <typename T, typename WT>
void messages_forward(const T* x, const WT* we, const EdgeArrays& g, const T* inv, T* y, int64_t B,
                      int64_t in, int64_t out);

/// gx[b, j, :] += Σ over edges e = (j → i) of W_e g[b, i, :]ᵀ · inv[i] (gx zero on entry).
template <typename T>
void messages_grad_x(const T* g_y, const T* we, const EdgeArrays& g, const T* inv, T* gx, int64_t B,
                     int64_t in, int64_t out);

/// gwe[e] = Σ_b x[b, j, :]ᵀ g[b, i, :] · inv[i] for e = (j → i) (gwe zero on entry).
template <typename T>
void messages_grad_weights(const T* x, const T* g_y, const EdgeArrays& g, const T* inv, T* gwe, int64_t B,
                           int64_t in, int64_t out);

/// we[e] = Σ_s basis[e, s] W[k_s(e)] over n = in·out entries per kernel (we zero on entry).
template <typename T>
void edge_weights_forward(const T* W, const T* basis, const EdgeArrays& g, T* we, int64_t n);

/// gW[k] = Σ over the entries (e, s) of kernel k of basis[e, s] gwe[e] (gW zero on entry; K3 kernels).
template <typename T>
void edge_weights_backward(const T* gwe, const T* basis, const EdgeArrays& g, T* gW, int64_t K3, int64_t n);

/// Fused forward (SplinePath::kFused, spline_fused.cpp): y[b, i, :] = inv[i] Σ over edges e = (j → i)
/// of x[b, j, :] W_e with W_e = Σ_s basis[e, s] W[k_s(e)] formed on the fly; W [K³, in, out],
/// y [B, N, out] (zero on entry).
template <typename T>
void fused_forward(const T* x, const T* W, const T* basis, const EdgeArrays& g, const T* inv, T* y, int64_t B,
                   int64_t in, int64_t out);

/// Its gradient in x: gx [B, N, in] += Σ over edges e = (j → i) of gs[b, i, :] W_eᵀ, from the scaled
/// output gradient gs[b, i, :] = inv[i] gy[b, i, :] and Wt [K³, out, in] (W transposed per kernel).
template <typename T>
void fused_grad_x(const T* gs, const T* Wt, const T* basis, const EdgeArrays& g, T* gx, int64_t B, int64_t in,
                  int64_t out);

/// Its gradient in W: gW [K³, in, out] += Σ over edges and corners of basis[e, s] x[b, j, :]ᵀ gs[b, i, :].
template <typename T>
void fused_grad_weight(const T* x, const T* gs, const T* basis, const EdgeArrays& g, T* gW, int64_t B,
                       int64_t in, int64_t out);

}  // namespace metaeik::metapinn::detail
