#include "monodomain/ionic_quadrature.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::monodomain {
namespace {
/// Below this many nodes (or elements) the OpenMP fork/join costs more than it saves.
constexpr long kParallel = 8192;
/// Elements per block of quadrature-point evaluations (bounds the buffers to a few MB).
constexpr long kBlockElements = 4096;
/// 1D Gauss points on [0, 1].
const double kXi0 = 0.5 - 0.5 / std::sqrt(3.0), kXi1 = 0.5 + 0.5 / std::sqrt(3.0);

/// Node values t[l] (bit b of l = node 0/1 along the element's axis b) → values at the Gauss points
/// (same bit pattern), one axis at a time: a + ξ (c − a), exact when a == c.
inline void interpolate_to_gauss(double* t, int axes) {
  for (int b = 0; b < axes; ++b) {
    const int bit = 1 << b;
    for (int idx = 0; idx < (1 << axes); ++idx) {
      if (idx & bit) continue;
      const double a = t[idx], d = t[idx | bit] - a;
      t[idx] = a + kXi0 * d;
      t[idx | bit] = a + kXi1 * d;
    }
  }
}

/// The transpose: Gauss-point values d[q] → Σ_q φ_l(x_q) d[q] for every node l.
inline void gauss_to_nodes(double* d, int axes) {
  for (int b = 0; b < axes; ++b) {
    const int bit = 1 << b;
    for (int idx = 0; idx < (1 << axes); ++idx) {
      if (idx & bit) continue;
      const double d0 = d[idx], d1 = d[idx | bit];
      d[idx] = (1.0 - kXi0) * d0 + (1.0 - kXi1) * d1;
      d[idx | bit] = kXi0 * d0 + kXi1 * d1;
    }
  }
}
}  // namespace

void solve_mass_axis(const Grid& g, int axis, double* v) {
  const int n[3] = {g.nx, g.ny, g.nz};
  const int m = n[axis];
  if (m < 2) return;
  // Thomas factors of T = 6 M/h = tridiag(1, 4, 1) with 2 at the ends; M⁻¹ b = 6 T⁻¹ b.
  std::vector<double> cp(m), inv(m);
  for (int p = 0; p < m; ++p) {
    const double b = (p == 0 || p == m - 1) ? 2.0 : 4.0;
    inv[p] = 1.0 / (p == 0 ? b : b - cp[p - 1]);
    cp[p] = p < m - 1 ? inv[p] : 0.0;
  }
  auto line = [&](long base, long width, long st) {
    for (long q = 0; q < width; ++q) v[base + q] *= 6.0 * inv[0];
    for (int p = 1; p < m; ++p) {
      double* vp = v + base + p * st;
      const double* vm = vp - st;
      for (long q = 0; q < width; ++q) vp[q] = (6.0 * vp[q] - vm[q]) * inv[p];
    }
    for (int p = m - 2; p >= 0; --p) {
      double* vp = v + base + p * st;
      const double* vn = vp + st;
      for (long q = 0; q < width; ++q) vp[q] -= cp[p] * vn[q];
    }
  };
  for_each_grid_line(g, axis, static_cast<long>(g.size()) > kParallel, line);
}

IonicQuadrature::IonicQuadrature(const Grid& g, SviStates states, double v_tolerance)
    : g_(g), states_(states), v_tolerance_(v_tolerance) {
  METAEIK_CHECK(v_tolerance >= 0,
                "tissue: the SVI voltage tolerance must be non-negative, got " << v_tolerance);
  const int n[3] = {g.nx, g.ny, g.nz};
  const long stride[3] = {1, g.nx, static_cast<long>(g.nx) * g.ny};
  std::vector<int> axes;
  for (int a = 0; a < 3; ++a) {
    METAEIK_CHECK(n[a] >= 1, "tissue: invalid grid");
    ne_[a] = n[a] > 1 ? n[a] - 1 : 1;
    if (n[a] > 1) axes.push_back(a);
  }
  np_ = 1 << axes.size();
  // Local node l and Gauss point q share the bit pattern over the element's axes (bit b of axis
  // axes[b]); the Gauss point with bit 0 lies nearest to the node with bit 0.
  axes_ = static_cast<int>(axes.size());
  offset_.assign(np_, 0);
  for (int l = 0; l < np_; ++l)
    for (std::size_t b = 0; b < axes.size(); ++b) offset_[l] += ((l >> b) & 1) * stride[axes[b]];
}

void IonicQuadrature::correction(const CellStates& y, const CellModel& model, double* r) {
  const std::size_t n = g_.size();
  METAEIK_CHECK(y.n_cells == n, "tissue: " << y.n_cells << " cell states for a grid of " << n << " nodes");
  const int S = y.n_states, np = np_;
  const long ne0 = ne_[0], ne1 = ne_[1], ne2 = ne_[2];
  const long n_elem = ne0 * ne1 * ne2;
  const double* Y = y.data.data();

  // 1. Elements whose nodes hold bitwise equal states contribute exactly zero: skip them (and,
  //    with a tolerance, those whose V spans at most the tolerance).
  differs_.resize(static_cast<std::size_t>(n_elem));
  const double tol = v_tolerance_;
#pragma omp parallel for schedule(static) if (n_elem > kParallel)
  for (long row = 0; row < ne1 * ne2; ++row) {
    const std::size_t first = g_.index(0, static_cast<int>(row % ne1), static_cast<int>(row / ne1));
    for (long i = 0; i < ne0; ++i) {
      const std::size_t b = first + i;
      bool diff = false;
      if (tol > 0) {
        const double* v = Y + b;
        double lo = v[0], hi = v[0];
        for (int l = 1; l < np; ++l) lo = std::min(lo, v[offset_[l]]), hi = std::max(hi, v[offset_[l]]);
        diff = hi - lo > tol;
      } else {
        for (int s = 0; s < S && !diff; ++s) {
          const double* ys = Y + static_cast<std::size_t>(s) * n + b;
          for (int l = 1; l < np; ++l) diff = diff || ys[offset_[l]] != ys[0];
        }
      }
      differs_[row * ne0 + i] = diff;
    }
  }
  active_.clear();
  for (long e = 0; e < n_elem; ++e)
    if (differs_[e]) active_.push_back(e);
  evaluated_ = active_.size();
  std::fill(r, r + n, 0.0);
  if (active_.empty()) return;
  auto base_node = [&](long e) {
    return g_.index(static_cast<int>(e % ne0), static_cast<int>((e / ne0) % ne1),
                    static_cast<int>(e / (ne0 * ne1)));
  };

  // 2. Nodal currents of the nodes of evaluated elements.
  node_slot_.assign(n, -1);
  nodes_.clear();
  for (long e : active_) {
    const std::size_t b = base_node(e);
    for (int l = 0; l < np; ++l) node_slot_[b + offset_[l]] = 0;
  }
  for (std::size_t c = 0; c < n; ++c)
    if (node_slot_[c] == 0) node_slot_[c] = static_cast<long>(nodes_.size()), nodes_.push_back(c);
  const std::size_t m = nodes_.size();
  yq_.resize(m * S);
  i_nodal_.resize(m);
  for (int s = 0; s < S; ++s) {
    const double* ys = Y + static_cast<std::size_t>(s) * n;
    double* out = yq_.data() + static_cast<std::size_t>(s) * m;
    for (std::size_t k = 0; k < m; ++k) out[k] = ys[nodes_[k]];
  }
  model.ionic_current(yq_.data(), m, i_nodal_.data());

  // 3. Quadrature-point states and currents, block by block, and the element load vectors
  //    w Σ_q φ_l(x_q) [I(y_h(x_q)) − Σ_j φ_j(x_q) I_j].
  elem_load_.resize(active_.size() * np);
  const double w = 1.0 / np;
  for (std::size_t first = 0; first < active_.size(); first += kBlockElements) {
    const long count = std::min<long>(kBlockElements, static_cast<long>(active_.size() - first));
    const std::size_t nq = static_cast<std::size_t>(count) * np;
    yq_.resize(nq * S);
    iq_.resize(nq);
#pragma omp parallel for schedule(static) if (static_cast <long>(nq) > kParallel)
    for (long k = 0; k < count; ++k) {
      const std::size_t b = base_node(active_[first + k]);
      for (int s = 0; s < S; ++s) {
        const double* ys = Y + static_cast<std::size_t>(s) * n + b;
        double* out = yq_.data() + static_cast<std::size_t>(s) * nq + static_cast<std::size_t>(k) * np;
        for (int l = 0; l < np; ++l) out[l] = ys[offset_[l]];
        if (s == 0 || states_ == SviStates::kAll) interpolate_to_gauss(out, axes_);
      }
    }
    model.ionic_current(yq_.data(), nq, iq_.data());
#pragma omp parallel for schedule(static) if (static_cast <long>(nq) > kParallel)
    for (long k = 0; k < count; ++k) {
      const std::size_t b = base_node(active_[first + k]);
      double* load = elem_load_.data() + (first + k) * np;
      for (int l = 0; l < np; ++l) load[l] = i_nodal_[node_slot_[b + offset_[l]]];
      interpolate_to_gauss(load, axes_);  // the interpolated nodal current at the Gauss points
      for (int q = 0; q < np; ++q) load[q] = w * (iq_[static_cast<std::size_t>(k) * np + q] - load[q]);
      gauss_to_nodes(load, axes_);
    }
  }

  // 4. Assemble (serially, in element order: deterministic), then apply M⁻¹ axis by axis.
  for (std::size_t k = 0; k < active_.size(); ++k) {
    const std::size_t b = base_node(active_[k]);
    for (int l = 0; l < np; ++l) r[b + offset_[l]] += elem_load_[k * np + l];
  }
  const int nn[3] = {g_.nx, g_.ny, g_.nz};
  for (int a = 0; a < 3; ++a)
    if (nn[a] > 1) solve_mass_axis(g_, a, r);
}

}  // namespace metaeik::monodomain
