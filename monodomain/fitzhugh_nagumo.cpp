#include "monodomain/fitzhugh_nagumo.hpp"

#include <cmath>

#include "core/error.hpp"

namespace metaeik::monodomain {

FitzHughNagumo::FitzHughNagumo(FhnParameters p) : p_(p) {
  METAEIK_CHECK(p_.tau > 0, "fhn: tau must be positive, got " << p_.tau);
  METAEIK_CHECK(p_.c > 0, "fhn: c must be positive, got " << p_.c);
}

const std::vector<std::string>& FitzHughNagumo::state_names() const {
  static const std::vector<std::string> names{"u", "w"};
  return names;
}

std::vector<double> FitzHughNagumo::initial_state() const {
  // Rest: w = (u + a)/b and c(u − u³/3 − w) + I = 0  →  g(u) = c(u − u³/3 − (u+a)/b) + I = 0.
  double u = -1.2;
  for (int it = 0; it < 100; ++it) {
    const double g = p_.c * (u - u * u * u / 3 - (u + p_.a) / p_.b) + p_.i_app;
    const double dg = p_.c * (1 - u * u - 1 / p_.b);
    if (dg == 0) break;
    const double du = g / dg;
    u -= du;
    if (std::abs(du) < 1e-15) break;
  }
  return {u, (u + p_.a) / p_.b};
}

void FitzHughNagumo::rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const {
  const double* u = y;
  const double* w = y + n;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t c = 0; c < n; ++c) {
    const double I = p_.i_app + (i_stim ? i_stim[c] : 0.0);
    dydt[c] = p_.c * (u[c] - u[c] * u[c] * u[c] / 3 - w[c]) + I;
    dydt[n + c] = (u[c] + p_.a - p_.b * w[c]) / p_.tau;
  }
}

void FitzHughNagumo::step(double* y, std::size_t n, const double* i_stim, double dt) {
  double* u = y;
  double* w = y + n;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t c = 0; c < n; ++c) {
    const double I = p_.i_app + (i_stim ? i_stim[c] : 0.0);
    const double du = p_.c * (u[c] - u[c] * u[c] * u[c] / 3 - w[c]) + I;
    const double dw = (u[c] + p_.a - p_.b * w[c]) / p_.tau;
    u[c] += dt * du;
    w[c] += dt * dw;
  }
}

}  // namespace metaeik::monodomain
