#pragma once
// Regional cell parameters for tissue runs: boxes of the grid whose cells use other parameters
// of the same cell model (e.g. an ischaemic zone with raised extracellular K⁺ or scaled currents).
// RegionalCellModel holds one model object per parameter set and applies each to its cells.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/tissue.hpp"

namespace metaeik::monodomain {

/// cell.regions entry: cells with lo ≤ x ≤ hi (mm, per axis) use `parameters` on top of cell.parameters.
/// Later regions win where boxes overlap.
struct CellRegion {
  std::array<double, 3> lo{0, 0, 0}, hi{0, 0, 0};
  core::Json parameters = core::Json::object();
};

/// A cell model whose cells are grouped by parameter set; state layout and names as the base model.
class RegionalCellModel : public CellModel {
 public:
  /// @param models  models[0] = base; models[g] for group g
  /// @param group   per cell, the index into models (size = number of cells stepped)
  RegionalCellModel(std::vector<std::unique_ptr<CellModel>> models, std::vector<int> group);
  std::string name() const override { return models_[0]->name(); }
  const std::vector<std::string>& state_names() const override { return models_[0]->state_names(); }
  std::vector<double> initial_state() const override { return models_[0]->initial_state(); }
  double activation_threshold() const override { return models_[0]->activation_threshold(); }
  std::string voltage_unit() const override { return models_[0]->voltage_unit(); }
  void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const override;
  void step(double* y, std::size_t n, const double* i_stim, double dt) override;
  void ionic_current(const double* y, std::size_t n, double* i_ion) const override;
  /// Cells of each group.
  const std::vector<std::vector<std::size_t>>& cells() const { return cells_; }

 private:
  /// Copies states of group g into buffer (n_states × m), or back.
  void gather(int g, const double* y, std::size_t n, std::vector<double>& buf) const;
  void scatter(int g, const std::vector<double>& buf, std::size_t rows, double* y, std::size_t n) const;
  std::vector<std::unique_ptr<CellModel>> models_;
  std::vector<std::vector<std::size_t>> cells_;
};

/// The model of a tissue config: make_cell_model(model, variant, parameters), or a RegionalCellModel when
/// `regions` is non-empty (region parameters are merged over `parameters`). Errors name `source`.
std::unique_ptr<CellModel> make_regional_cell_model(const std::string& model, const std::string& variant,
                                                    const core::Json& parameters,
                                                    const std::vector<CellRegion>& regions, const Grid& grid,
                                                    const std::string& source);

}  // namespace metaeik::monodomain
