#include "monodomain/fitzhugh_nagumo_cubic.hpp"

#include <cmath>

#include "core/error.hpp"

namespace metaeik::monodomain {

FitzHughNagumoCubic::FitzHughNagumoCubic(FhnCubicParameters p) : p_(p) {
  METAEIK_CHECK(p_.c > 0, "fhn-cubic: c must be positive, got " << p_.c);
  METAEIK_CHECK(p_.g > 0, "fhn-cubic: g must be positive, got " << p_.g);
}

const std::vector<std::string>& FitzHughNagumoCubic::state_names() const {
  static const std::vector<std::string> names{"u", "w"};
  return names;
}

std::vector<double> FitzHughNagumoCubic::initial_state() const {
  // Fixed point: w = e u / g and u(u − a)(1 − u) − e u / g + I = 0.
  const double r = p_.e / p_.g;
  double u = 0.0;
  for (int it = 0; it < 100; ++it) {
    const double h = u * (u - p_.a) * (1 - u) - r * u + p_.i_app;
    const double dh = -3 * u * u + 2 * (1 + p_.a) * u - p_.a - r;
    if (dh == 0) break;
    const double du = h / dh;
    u -= du;
    if (std::abs(du) < 1e-15) break;
  }
  return {u, r * u};
}

void FitzHughNagumoCubic::rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const {
  const double* u = y;
  const double* w = y + n;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t k = 0; k < n; ++k) {
    const double s = i_stim ? i_stim[k] : 0.0;
    dydt[k] = p_.c * (u[k] * (u[k] - p_.a) * (1 - u[k]) - w[k] + p_.i_app) + s;
    dydt[n + k] = p_.e * u[k] - p_.g * w[k];
  }
}

void FitzHughNagumoCubic::step(double* y, std::size_t n, const double* i_stim, double dt) {
  double* u = y;
  double* w = y + n;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t k = 0; k < n; ++k) {
    const double s = i_stim ? i_stim[k] : 0.0;
    const double du = p_.c * (u[k] * (u[k] - p_.a) * (1 - u[k]) - w[k] + p_.i_app) + s;
    const double dw = p_.e * u[k] - p_.g * w[k];
    u[k] += dt * du;
    w[k] += dt * dw;
  }
}

}  // namespace metaeik::monodomain
