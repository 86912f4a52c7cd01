#pragma once
// ten Tusscher & Panfilov 2006 human ventricular myocyte (Am J Physiol Heart 291:H1088), with the
// epicardial, endocardial and mid-myocardial (M-cell) variants. 19 states:
//   V (mV), Ki, Nai, Cai, CaSR, Cass (mM), Rprime, Xr1, Xr2, Xs, m, h, j, d, f, f2, fCass, s, r.
// Units: mV, ms, currents in pA/pF (= mV/ms), concentrations in mM. The applied current i_stim
// is depolarising (i_stim = 52 ≙ the published −52 pA/pF stimulus); like the published code it is
// carried by K⁺ (enters dKi/dt).
// step(): Rush–Larsen for the gates (m h j Xr1 Xr2 Xs r s d f f2 fCass), forward Euler for V,
// Ki, Nai and R̄, and the published rapid-buffering update (forward Euler on the total
// concentration, then the exact buffer equilibrium) for Cai, CaSR and Cass.
// Voltage-only factors (gate steady states and Rush–Larsen factors, I_NaK/I_pK rectification,
// I_NaCa and I_CaL exponentials) and I_K1 rectification (a function of V − E_K) are tabulated by
// default: linear interpolation at 0.02 mV spacing on −150…100 mV (direct evaluation outside),
// rebuilt when dt changes; V differs from direct evaluation by < 0.05 mV over a beat.

#include <string>
#include <vector>

#include "monodomain/cell_model.hpp"

namespace metaeik::monodomain {

enum class Ttp06Variant { kEpi, kEndo, kMid };

/// Parses "epi", "endo", "mid" (also "m", "mcell"); throws with the list of choices.
Ttp06Variant parse_ttp06_variant(const std::string& name);

struct Ttp06Parameters {
  Ttp06Variant variant = Ttp06Variant::kEpi;
  double g_na = 14.838;                     ///< nS/pF
  double g_cal = 3.980e-5;                  ///< cm/(ms·µF)
  double g_kr = 0.153;                      ///< nS/pF
  double g_ks = 0.392;                      ///< nS/pF (epi, endo 0.392; mid 0.098)
  double g_k1 = 5.405;                      ///< nS/pF
  double g_to = 0.294;                      ///< nS/pF (epi, mid 0.294; endo 0.073)
  double g_bna = 2.9e-4;                    ///< nS/pF
  double g_bca = 5.92e-4;                   ///< nS/pF
  double g_pca = 0.1238;                    ///< pA/pF
  double g_pk = 0.0146;                     ///< nS/pF
  double p_nak = 2.724;                     ///< pA/pF
  double k_naca = 1000.0;                   ///< pA/pF
  double ko = 5.4, nao = 140.0, cao = 2.0;  ///< extracellular concentrations, mM
  bool lookup_table = true;                 ///< tabulate voltage-only factors in step()

  /// Published conductances of a variant.
  static Ttp06Parameters for_variant(Ttp06Variant v);
};

class TenTusscher2006 : public CellModel {
 public:
  explicit TenTusscher2006(Ttp06Parameters p = {});
  const Ttp06Parameters& parameters() const { return p_; }
  std::string name() const override;
  const std::vector<std::string>& state_names() const override;
  /// Published initial state of the variant (epi: V = −85.23 mV).
  std::vector<double> initial_state() const override;
  double activation_threshold() const override { return 0.0; }
  std::string voltage_unit() const override { return "mV"; }
  void rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const override;
  void step(double* y, std::size_t n, const double* i_stim, double dt) override;
  void ionic_current(const double* y, std::size_t n, double* i_ion) const override;

 private:
  void build_tables(double dt);
  Ttp06Parameters p_;
  double table_dt_ = -1;
  std::vector<double> v_table_;   // per voltage sample: the factors of detail::VFactors
  std::vector<double> k1_table_;  // rec_iK1 as a function of V − E_K
};

}  // namespace metaeik::monodomain
