#pragma once
// FitzHugh–Nagumo:  du/dt = c (u − u³/3 − w) + I_app + I_stim,   dw/dt = (u + a − b w) / τ.
// Dimensionless voltage u; time in model units (treated as ms). Explicit Euler step.

#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

struct FhnParameters {
  double a = 0.7;      ///< recovery offset
  double b = 0.8;      ///< recovery decay
  double c = 1.0;      ///< excitation time scale factor
  double tau = 12.5;   ///< recovery time constant
  double i_app = 0.0;  ///< constant applied current (≈0.5 makes the cell oscillate)
};

class FitzHughNagumo : public CellModel {
 public:
  explicit FitzHughNagumo(FhnParameters p = {});
  const FhnParameters& parameters() const { return p_; }
  std::string name() const override { return "fhn"; }
  const std::vector<std::string>& state_names() const override;
  /// The stable rest point (u*, w*) of the model with I = i_app, found by Newton's method.
  std::vector<double> initial_state() const override;
  double activation_threshold() const override { return 0.0; }
  std::string voltage_unit() const override { return "1"; }
  void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const override;
  void step(double* y, std::size_t n, const double* i_stim, double dt) override;

 private:
  FhnParameters p_;
};

}  // namespace metaeik::monodomain
