#pragma once
// Reference for the monodomain tests: the consistent Q1 mass matrix applied by a naive loop.

#include <vector>

#include "monodomain/tissue.hpp"

namespace metaeik::monodomain::test {

/// Consistent Q1 mass matrix applied to v (tensor product of 1D h/6 [2 1; 1 4 1; …]).
inline std::vector<double> apply_mass(const Grid& g, std::vector<double> v) {
  const int n[3] = {g.nx, g.ny, g.nz};
  const double h[3] = {g.dx, g.dy, g.dz};
  const long st[3] = {1, g.nx, static_cast<long>(g.nx) * g.ny};
  for (int a = 0; a < 3; ++a) {
    if (n[a] < 2) continue;
    std::vector<double> w(v.size());
    for (std::size_t c = 0; c < v.size(); ++c) {
      const int idx = a == 0 ? c % g.nx : a == 1 ? (c / g.nx) % g.ny : c / (g.nx * g.ny);
      double s = (idx == 0 || idx == n[a] - 1 ? 2 : 4) * v[c];
      if (idx > 0) s += v[c - st[a]];
      if (idx < n[a] - 1) s += v[c + st[a]];
      w[c] = h[a] / 6 * s;
    }
    v = w;
  }
  return v;
}

}  // namespace metaeik::monodomain::test
