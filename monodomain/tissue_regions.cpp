#include "monodomain/tissue_regions.hpp"

#include "core/error.hpp"

namespace metaeik::monodomain {

RegionalCellModel::RegionalCellModel(std::vector<std::unique_ptr<CellModel>> models, std::vector<int> group)
    : models_(std::move(models)), cells_(models_.size()) {
  METAEIK_CHECK(!models_.empty(), "regional cell model: no models");
  for (std::size_t c = 0; c < group.size(); ++c) {
    METAEIK_CHECK(group[c] >= 0 && group[c] < static_cast<int>(models_.size()),
                  "regional cell model: bad group");
    cells_[group[c]].push_back(c);
  }
  for (const auto& m : models_)
    METAEIK_CHECK(m->state_names() == models_[0]->state_names(),
                  "regional cell model: models differ in their states");
}

void RegionalCellModel::gather(int g, const double* y, std::size_t n, std::vector<double>& buf) const {
  const auto& cells = cells_[g];
  const std::size_t m = cells.size(), rows = buf.size() / std::max<std::size_t>(1, m);
  for (std::size_t s = 0; s < rows; ++s)
    for (std::size_t k = 0; k < m; ++k) buf[s * m + k] = y[s * n + cells[k]];
}

void RegionalCellModel::scatter(int g, const std::vector<double>& buf, std::size_t rows, double* y,
                                std::size_t n) const {
  const auto& cells = cells_[g];
  const std::size_t m = cells.size();
  for (std::size_t s = 0; s < rows; ++s)
    for (std::size_t k = 0; k < m; ++k) y[s * n + cells[k]] = buf[s * m + k];
}

void RegionalCellModel::rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const {
  const auto S = static_cast<std::size_t>(num_states());
  for (std::size_t g = 0; g < models_.size(); ++g) {
    const std::size_t m = cells_[g].size();
    if (m == 0) continue;
    METAEIK_CHECK(cells_[g].back() < n, "regional cell model: made for fewer cells than " << n);
    std::vector<double> ys(S * m), ds(S * m), is(m);
    gather(static_cast<int>(g), y, n, ys);
    for (std::size_t k = 0; k < m; ++k) is[k] = i_stim ? i_stim[cells_[g][k]] : 0.0;
    models_[g]->rhs(ys.data(), m, is.data(), ds.data());
    scatter(static_cast<int>(g), ds, S, dydt, n);
  }
}

void RegionalCellModel::step(double* y, std::size_t n, const double* i_stim, double dt) {
  const auto S = static_cast<std::size_t>(num_states());
  for (std::size_t g = 0; g < models_.size(); ++g) {
    const std::size_t m = cells_[g].size();
    if (m == 0) continue;
    METAEIK_CHECK(cells_[g].back() < n, "regional cell model: made for fewer cells than " << n);
    std::vector<double> ys(S * m), is(m);
    gather(static_cast<int>(g), y, n, ys);
    for (std::size_t k = 0; k < m; ++k) is[k] = i_stim ? i_stim[cells_[g][k]] : 0.0;
    models_[g]->step(ys.data(), m, is.data(), dt);
    scatter(static_cast<int>(g), ys, S, y, n);
  }
}

void RegionalCellModel::ionic_current(const double* y, std::size_t n, double* i_ion) const {
  const auto S = static_cast<std::size_t>(num_states());
  for (std::size_t g = 0; g < models_.size(); ++g) {
    const std::size_t m = cells_[g].size();
    if (m == 0) continue;
    std::vector<double> ys(S * m), out(m);
    gather(static_cast<int>(g), y, n, ys);
    models_[g]->ionic_current(ys.data(), m, out.data());
    scatter(static_cast<int>(g), out, 1, i_ion, n);
  }
}

std::unique_ptr<CellModel> make_regional_cell_model(const std::string& model, const std::string& variant,
                                                    const core::Json& parameters,
                                                    const std::vector<CellRegion>& regions, const Grid& grid,
                                                    const std::string& source) {
  if (regions.empty()) return make_cell_model(model, variant, parameters, source);
  std::vector<std::unique_ptr<CellModel>> models;
  models.push_back(make_cell_model(model, variant, parameters, source));
  for (std::size_t r = 0; r < regions.size(); ++r) {
    core::Json merged = parameters.is_object() ? parameters : core::Json::object();
    merged.update(regions[r].parameters);
    models.push_back(
        make_cell_model(model, variant, merged, source + ": cell.regions[" + std::to_string(r) + "]"));
  }
  std::vector<int> group(grid.size(), 0);
  for (std::size_t c = 0; c < grid.size(); ++c) {
    const auto p = grid.point(c);
    for (std::size_t r = 0; r < regions.size(); ++r) {
      bool inside = true;
      for (int d = 0; d < 3; ++d)
        inside = inside && p[d] >= regions[r].lo[d] - 1e-9 && p[d] <= regions[r].hi[d] + 1e-9;
      if (inside) group[c] = static_cast<int>(r + 1);
    }
  }
  return std::make_unique<RegionalCellModel>(std::move(models), std::move(group));
}

}  // namespace metaeik::monodomain
