#pragma once
// Mitchell–Schaeffer (2003):  dv/dt = h v²(1−v)/τ_in − v/τ_out + J,
// dh/dt = (1−h)/τ_open if v < v_gate else −h/τ_close.  v ∈ [0, 1], time in ms.
// Step: explicit Euler for v, exact (Rush–Larsen) update for the gate h.

#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

struct MsParameters {
  double tau_in = 0.3;       ///< ms
  double tau_out = 6.0;      ///< ms
  double tau_open = 120.0;   ///< ms
  double tau_close = 150.0;  ///< ms
  double v_gate = 0.13;      ///< gate switch voltage
};

class MitchellSchaeffer : public CellModel {
 public:
  explicit MitchellSchaeffer(MsParameters p = {});
  const MsParameters& parameters() const { return p_; }
  std::string name() const override { return "ms"; }
  const std::vector<std::string>& state_names() const override;
  std::vector<double> initial_state() const override { return {0.0, 1.0}; }
  double activation_threshold() const override { return 0.5; }
  std::string voltage_unit() const override { return "1"; }
  void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const override;
  void step(double* y, std::size_t n, const double* i_stim, double dt) override;

 private:
  MsParameters p_;
};

}  // namespace metaeik::monodomain
