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
  const long nx = g.nx, nxy = static_cast<long>(g.nx) * g.ny;
  const bool parallel = static_cast<long>(g.size()) > kParallel;
  if (axis == 0) {
#pragma omp parallel for schedule(static) if (parallel)
    for (long l = 0; l < static_cast<long>(g.ny) * g.nz; ++l) line(l * nx, 1, 1);
  } else if (axis == 1) {
#pragma omp parallel for schedule(static) if (parallel)
    for (long k = 0; k < g.nz; ++k) line(k * nxy, nx, nx);
  } else {
#pragma omp parallel for schedule(static) if (parallel)
    for (long j = 0; j < g.ny; ++j) line(j * nx, nx, nxy);
  }
}

IonicQuadrature::IonicQuadrature(const Grid& g, SviStates states) : g_(g), states_(states) {
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
  const double xi[2] = {0.5 - 0.5 / std::sqrt(3.0), 0.5 + 0.5 / std::sqrt(3.0)};
  offset_.assign(np_, 0);
  phi_.assign(static_cast<std::size_t>(np_) * np_, 1.0);
  for (int l = 0; l < np_; ++l)
    for (std::size_t b = 0; b < axes.size(); ++b) offset_[l] += ((l >> b) & 1) * stride[axes[b]];
  for (int q = 0; q < np_; ++q)
    for (int l = 0; l < np_; ++l)
      for (std::size_t b = 0; b < axes.size(); ++b) {
        const double x = xi[(q >> b) & 1];
        phi_[q * np_ + l] *= ((l >> b) & 1) ? x : 1.0 - x;
      }
  slot_.assign(static_cast<std::size_t>(ne_[0] * ne_[1] * ne_[2]), -1);
}

void IonicQuadrature::correction(const CellStates& y, const CellModel& model, const double* i_nodal, double* r) {
  const std::size_t n = g_.size();
  METAEIK_CHECK(y.n_cells == n, "tissue: " << y.n_cells << " cell states for a grid of " << n << " nodes");
  const int S = y.n_states, np = np_;
  const long n_elem = static_cast<long>(slot_.size());
  const long ne0 = ne_[0], ne1 = ne_[1];
  auto base_node = [&](long e) {
    return g_.index(static_cast<int>(e % ne0), static_cast<int>((e / ne0) % ne1), static_cast<int>(e / (ne0 * ne1)));
  };
  const double* Y = y.data.data();
  const bool parallel = n_elem > kParallel;

  // 1. Elements whose nodes hold bitwise equal states contribute exactly zero: skip them.
  std::vector<char> differs(static_cast<std::size_t>(n_elem));
#pragma omp parallel for schedule(static) if (parallel)
  for (long e = 0; e < n_elem; ++e) {
    const std::size_t b = base_node(e);
    bool diff = false;
    for (int s = 0; s < S && !diff; ++s) {
      const double* ys = Y + static_cast<std::size_t>(s) * n + b;
      for (int l = 1; l < np; ++l) diff = diff || ys[offset_[l]] != ys[0];
    }
    differs[e] = diff;
  }
  active_.clear();
  for (long e = 0; e < n_elem; ++e) {
    slot_[e] = differs[e] ? static_cast<long>(active_.size()) : -1;
    if (differs[e]) active_.push_back(e);
  }
  evaluated_ = active_.size();
  elem_load_.resize(active_.size() * np);

  // 2. Quadrature-point states and currents, block by block, and the element load vectors
  //    w Σ_q φ_l(x_q) [I(y_h(x_q)) − Σ_j φ_j(x_q) I_j].
  const double w = 1.0 / np;
  for (std::size_t first = 0; first < active_.size(); first += kBlockElements) {
    const long count = std::min<long>(kBlockElements, static_cast<long>(active_.size() - first));
    const std::size_t nq = static_cast<std::size_t>(count) * np;
    yq_.resize(nq * S);
    iq_.resize(nq);
#pragma omp parallel for schedule(static) if (count * np > 1024)
    for (long k = 0; k < count; ++k) {
      const std::size_t b = base_node(active_[first + k]);
      for (int s = 0; s < S; ++s) {
        const double* ys = Y + static_cast<std::size_t>(s) * n + b;
        double* out = yq_.data() + static_cast<std::size_t>(s) * nq + static_cast<std::size_t>(k) * np;
        const double y0 = ys[0];
        if (s > 0 && states_ == SviStates::kVoltage) {
          for (int q = 0; q < np; ++q) out[q] = ys[offset_[q]];
          continue;
        }
        for (int q = 0; q < np; ++q) {
          const double* ph = phi_.data() + q * np;
          double acc = 0;
          for (int l = 1; l < np; ++l) acc += ph[l] * (ys[offset_[l]] - y0);
          out[q] = y0 + acc;
        }
      }
    }
    model.ionic_current(yq_.data(), nq, iq_.data());
#pragma omp parallel for schedule(static) if (count * np > 1024)
    for (long k = 0; k < count; ++k) {
      const std::size_t b = base_node(active_[first + k]);
      const double* in = i_nodal + b;
      const double i0 = in[0];
      double delta[8];
      for (int q = 0; q < np; ++q) {
        const double* ph = phi_.data() + q * np;
        double acc = 0;
        for (int l = 1; l < np; ++l) acc += ph[l] * (in[offset_[l]] - i0);
        delta[q] = iq_[static_cast<std::size_t>(k) * np + q] - (i0 + acc);
      }
      double* load = elem_load_.data() + (first + k) * np;
      for (int l = 0; l < np; ++l) {
        double acc = 0;
        for (int q = 0; q < np; ++q) acc += phi_[q * np + l] * delta[q];
        load[l] = w * acc;
      }
    }
  }

  // 3. Assemble per node (fixed element order: deterministic), then apply M⁻¹ axis by axis.
  const int nn[3] = {g_.nx, g_.ny, g_.nz};
  std::vector<int> axes;
  for (int a = 0; a < 3; ++a)
    if (nn[a] > 1) axes.push_back(a);
#pragma omp parallel for schedule(static) if (static_cast<long>(n) > kParallel)
  for (long c = 0; c < static_cast<long>(n); ++c) {
    const long idx[3] = {c % nn[0], (c / nn[0]) % nn[1], c / (static_cast<long>(nn[0]) * nn[1])};
    double acc = 0;
    for (int l = 0; l < np; ++l) {
      long e[3] = {0, 0, 0};
      bool inside = true;
      for (std::size_t b = 0; b < axes.size(); ++b) {
        const int a = axes[b];
        e[a] = idx[a] - ((l >> b) & 1);
        inside = inside && e[a] >= 0 && e[a] < ne_[a];
      }
      if (!inside) continue;
      const long s = slot_[e[0] + ne0 * (e[1] + ne1 * e[2])];
      if (s >= 0) acc += elem_load_[s * np + l];
    }
    r[c] = acc;
  }
  for (int a : axes) solve_mass_axis(g_, a, r);
}

}  // namespace metaeik::monodomain
