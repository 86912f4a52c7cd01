#include "monodomain/mitchell_schaeffer.hpp"

#include <cmath>

#include "core/error.hpp"

namespace metaeik::monodomain {

MitchellSchaeffer::MitchellSchaeffer(MsParameters p) : p_(p) {
  METAEIK_CHECK(p_.tau_in > 0 && p_.tau_out > 0 && p_.tau_open > 0 && p_.tau_close > 0,
                "ms: time constants must be positive");
}

const std::vector<std::string>& MitchellSchaeffer::state_names() const {
  static const std::vector<std::string> names{"v", "h"};
  return names;
}

void MitchellSchaeffer::rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const {
  const double* v = y;
  const double* h = y + n;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t c = 0; c < n; ++c) {
    const double J = i_stim ? i_stim[c] : 0.0;
    dydt[c] = h[c] * v[c] * v[c] * (1 - v[c]) / p_.tau_in - v[c] / p_.tau_out + J;
    dydt[n + c] = v[c] < p_.v_gate ? (1 - h[c]) / p_.tau_open : -h[c] / p_.tau_close;
  }
}

void MitchellSchaeffer::step(double* y, std::size_t n, const double* i_stim, double dt) {
  double* v = y;
  double* h = y + n;
  const double e_open = std::exp(-dt / p_.tau_open);
  const double e_close = std::exp(-dt / p_.tau_close);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (std::size_t c = 0; c < n; ++c) {
    const double J = i_stim ? i_stim[c] : 0.0;
    const double vc = v[c];
    const double dv = h[c] * vc * vc * (1 - vc) / p_.tau_in - vc / p_.tau_out + J;
    // Exact update of the linear gate equation with v frozen over the step (Rush–Larsen).
    h[c] = vc < p_.v_gate ? 1 - (1 - h[c]) * e_open : h[c] * e_close;
    v[c] = vc + dt * dv;
  }
}

}  // namespace metaeik::monodomain
