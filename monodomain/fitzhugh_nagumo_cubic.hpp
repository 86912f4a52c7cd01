#pragma once
// FitzHugh–Nagumo, cubic form (the form of the published neural-surrogate study):
//   du/dt = c · [u (u − a)(1 − u) − w + I_app] + I_stim,   dw/dt = e · u − g · w.
// Dimensionless voltage u (rest 0, excited ≈ 1); time in ms. Explicit Euler step.
// I_stim is added outside the bracket (voltage units per ms), like every CellModel's applied current.

#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

struct FhnCubicParameters {
  double a = 0.4;      ///< excitation threshold
  double c = 10.0;     ///< excitation rate (1/ms)
  double e = 0.04;     ///< recovery drive by u (1/ms)
  double g = 0.16;     ///< recovery decay (1/ms)
  double i_app = 0.0;  ///< constant current inside the bracket (0.08: problem B of the study)
};

class FitzHughNagumoCubic : public CellModel {
 public:
  explicit FitzHughNagumoCubic(FhnCubicParameters p = {});
  const FhnCubicParameters& parameters() const { return p_; }
  std::string name() const override { return "fhn-cubic"; }
  const std::vector<std::string>& state_names() const override;
  /// The rest point nearest u = 0 (the fixed point with I = i_app, found by Newton's method).
  std::vector<double> initial_state() const override;
  double activation_threshold() const override { return p_.a; }
  std::string voltage_unit() const override { return "1"; }
  void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const override;
  void step(double* y, std::size_t n, const double* i_stim, double dt) override;

 private:
  FhnCubicParameters p_;
};

}  // namespace metaeik::monodomain
