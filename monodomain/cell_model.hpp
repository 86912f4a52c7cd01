#pragma once
// Ionic cell models behind one interface, vectorised over many cells.
//
// States of n cells are stored structure-of-arrays: y[s * n + c] is state s of cell c, so each
// state is a contiguous array (good for SIMD loops and for writing one variable of every cell).
// State 0 is always the transmembrane potential V. Time is in ms; V and the applied current are
// in the model's own units (mV and µA/µF = mV/ms for TTP06; dimensionless for FHN and MS).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace metaeik::monodomain {

/// States of many cells, structure-of-arrays: data[s * n_cells + c].
struct CellStates {
  std::size_t n_cells = 0;
  int n_states = 0;
  std::vector<double> data;  ///< n_states × n_cells

  double* state(int s) { return data.data() + static_cast<std::size_t>(s) * n_cells; }
  const double* state(int s) const { return data.data() + static_cast<std::size_t>(s) * n_cells; }
  double& at(int s, std::size_t c) { return data[static_cast<std::size_t>(s) * n_cells + c]; }
  double at(int s, std::size_t c) const { return data[static_cast<std::size_t>(s) * n_cells + c]; }
};

class CellModel {
 public:
  virtual ~CellModel() = default;

  /// "fhn", "ms", "ttp06-epi", ...
  virtual std::string name() const = 0;
  /// Names of the states in storage order; names()[0] is the voltage ("V" or "u"/"v").
  virtual const std::vector<std::string>& state_names() const = 0;
  /// Initial (resting) state of one cell, in storage order.
  virtual std::vector<double> initial_state() const = 0;
  /// Upward crossing of this voltage defines activation (0 mV for TTP06, 0.5 for MS, 0 for FHN).
  virtual double activation_threshold() const = 0;
  /// Unit of the voltage state, for output headers ("mV" or "1").
  virtual std::string voltage_unit() const = 0;

  /// Time derivatives of every state of n cells (same layout as y).
  /// @param i_stim  n applied depolarising currents (voltage units per ms), or nullptr for none
  virtual void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const = 0;
  /// Advances n cells by dt ms in place with the model's scheme (forward Euler for V and
  /// concentrations, Rush–Larsen for gates). OpenMP-parallel over cells; result independent of
  /// the thread count. Not for concurrent calls on one object (TTP06 rebuilds its lookup tables
  /// when dt changes); use one model object per thread for independent simulations.
  virtual void step(double* y, std::size_t n, const double* i_stim, double dt) = 0;
  /// Total ionic current of n cells in arbitrary states (same layout as y): i_ion = −dV/dt without
  /// applied current, in voltage units per ms. Equals the current that step() applies to V (same
  /// code path, e.g. the same lookup tables once step() has built them). The default uses rhs().
  /// OpenMP-parallel over cells for large n.
  virtual void ionic_current(const double* y, std::size_t n, double* i_ion) const;

  int num_states() const { return static_cast<int>(state_names().size()); }
  /// Index of a state by name; throws core::Error listing the valid names.
  int state_index(const std::string& name) const;
  /// n cells, each in the initial state.
  CellStates make_states(std::size_t n) const;
};

/// Models known to make_cell_model.
const std::vector<std::string>& cell_model_names();

/// Builds a model by name ("fhn", "ms", "ttp06") and, for TTP06, variant ("epi", "endo", "mid").
/// `parameters` (may be null/empty) overrides parameter fields by name, read with `reader`
/// conventions (unknown keys rejected); `source` names the config for error messages.
std::unique_ptr<CellModel> make_cell_model(const std::string& model, const std::string& variant = "",
                                           const core::Json& parameters = core::Json::object(),
                                           const std::string& source = "cell");

}  // namespace metaeik::monodomain
