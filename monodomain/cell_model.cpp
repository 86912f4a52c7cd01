#include "monodomain/cell_model.hpp"

#include <sstream>

#include "core/error.hpp"
#include "monodomain/fitzhugh_nagumo.hpp"
#include "monodomain/fitzhugh_nagumo_cubic.hpp"
#include "monodomain/mitchell_schaeffer.hpp"
#include "monodomain/ten_tusscher.hpp"

namespace metaeik::monodomain {

int CellModel::state_index(const std::string& name) const {
  const auto& names = state_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  std::ostringstream os;
  for (std::size_t i = 0; i < names.size(); ++i) os << (i ? ", " : "") << names[i];
  METAEIK_FAIL("model " << this->name() << " has no state \"" << name << "\" (states: " << os.str() << ")");
}

CellStates CellModel::make_states(std::size_t n) const {
  CellStates s;
  s.n_cells = n;
  s.n_states = num_states();
  s.data.resize(static_cast<std::size_t>(s.n_states) * n);
  const auto y0 = initial_state();
  for (int k = 0; k < s.n_states; ++k) std::fill_n(s.state(k), n, y0[k]);
  return s;
}

void CellModel::ionic_current(const double* y, std::size_t n, double* i_ion) const {
  std::vector<double> dydt(static_cast<std::size_t>(num_states()) * n);
  rhs(y, n, nullptr, dydt.data());
  for (std::size_t c = 0; c < n; ++c) i_ion[c] = -dydt[c];
}

const std::vector<std::string>& cell_model_names() {
  static const std::vector<std::string> names{"fhn", "ms", "ttp06"};
  return names;
}

std::unique_ptr<CellModel> make_cell_model(const std::string& model, const std::string& variant,
                                           const core::Json& parameters, const std::string& source) {
  const core::Json params = parameters.is_null() ? core::Json::object() : parameters;
  METAEIK_CHECK(params.is_object(), source << ": cell parameters must be an object");
  core::JsonReader r(params, source, "cell.parameters");
  if (model == "fhn") {
    METAEIK_CHECK(variant.empty(), source << ": model fhn has no variants (got \"" << variant << "\")");
    FhnParameters p;
    r.get("a", p.a);
    r.get("b", p.b);
    r.get("c", p.c, 1e-12, 1e12);
    r.get("tau", p.tau, 1e-12, 1e12);
    r.get("i_app", p.i_app);
    r.finish();
    return std::make_unique<FitzHughNagumo>(p);
  }
  if (model == "fhn-cubic") {
    METAEIK_CHECK(variant.empty(), source << ": model fhn-cubic has no variants (got \"" << variant << "\")");
    FhnCubicParameters p;
    r.get("a", p.a);
    r.get("c", p.c, 1e-12, 1e12);
    r.get("e", p.e);
    r.get("g", p.g, 1e-12, 1e12);
    r.get("i_app", p.i_app);
    r.finish();
    return std::make_unique<FitzHughNagumoCubic>(p);
  }
  if (model == "ms") {
    METAEIK_CHECK(variant.empty(), source << ": model ms has no variants (got \"" << variant << "\")");
    MsParameters p;
    r.get("tau_in", p.tau_in, 1e-12, 1e12);
    r.get("tau_out", p.tau_out, 1e-12, 1e12);
    r.get("tau_open", p.tau_open, 1e-12, 1e12);
    r.get("tau_close", p.tau_close, 1e-12, 1e12);
    r.get("v_gate", p.v_gate, 0.0, 1.0);
    r.finish();
    return std::make_unique<MitchellSchaeffer>(p);
  }
  if (model == "ttp06") {
    Ttp06Parameters p = Ttp06Parameters::for_variant(parse_ttp06_variant(variant));
    for (auto [key, field] : {std::pair<const char*, double*>{"g_na", &p.g_na},
                              {"g_cal", &p.g_cal},
                              {"g_kr", &p.g_kr},
                              {"g_ks", &p.g_ks},
                              {"g_k1", &p.g_k1},
                              {"g_to", &p.g_to},
                              {"g_bna", &p.g_bna},
                              {"g_bca", &p.g_bca},
                              {"g_pca", &p.g_pca},
                              {"g_pk", &p.g_pk},
                              {"p_nak", &p.p_nak},
                              {"k_naca", &p.k_naca},
                              {"ko", &p.ko},
                              {"nao", &p.nao},
                              {"cao", &p.cao}})
      r.get(key, *field, 0.0, 1e9);
    r.get("lookup_table", p.lookup_table);
    r.finish();
    return std::make_unique<TenTusscher2006>(p);
  }
  METAEIK_FAIL(source << ": unknown cell model \"" << model << "\" (expected one of fhn, ms, ttp06)");
}

}  // namespace metaeik::monodomain
