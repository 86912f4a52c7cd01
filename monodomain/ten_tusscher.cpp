#include "monodomain/ten_tusscher.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::monodomain {
namespace {

// State indices.
enum : int {
  kV,
  kKi,
  kNai,
  kCai,
  kCaSR,
  kCass,
  kRprime,
  kXr1,
  kXr2,
  kXs,
  kM,
  kH,
  kJ,
  kD,
  kF,
  kF2,
  kFCass,
  kS,
  kR,
  kNumStates
};

// Physical constants and fixed model constants of the published model.
constexpr double kRgas = 8314.472, kFaraday = 96485.3415, kTemp = 310.0;
constexpr double kRTONF = kRgas * kTemp / kFaraday;  // mV
constexpr double kFRT = 1.0 / kRTONF;                // 1/mV
constexpr double kCm = 0.185;                        // µF (CAPACITANCE)
constexpr double kVc = 0.016404, kVsr = 0.001094,
                 kVss = 0.00005468;  // cytoplasm, SR, subspace volumes (published units)
constexpr double kBufc = 0.2, kKbufc = 0.001, kBufsr = 10.0, kKbufsr = 0.3, kBufss = 0.4, kKbufss = 0.00025;
constexpr double kVmaxup = 0.006375, kKup = 0.00025, kVrel = 0.102, kK1p = 0.15, kK2p = 0.045, kK3 = 0.060,
                 kK4 = 0.005, kEC = 1.5, kMaxsr = 2.5, kMinsr = 1.0, kVleak = 0.00036, kVxfer = 0.0038;
constexpr double kPKNa = 0.03, kKmK = 1.0, kKmNa = 40.0, kKmNai = 87.5, kKmCa = 1.38, kKsat = 0.1,
                 kNaca = 0.35, kKpCa = 0.0005;
constexpr double kInvVcF = 1.0 / (kVc * kFaraday), kInvVcF2 = 1.0 / (2 * kVc * kFaraday),
                 kInvVssF2 = 1.0 / (2 * kVss * kFaraday);

// Gates driven by V only, in table order, and their state indices.
constexpr int kNumGates = 11;
constexpr int kGateState[kNumGates] = {kM, kH, kJ, kXr1, kXr2, kXs, kR, kS, kD, kF, kF2};

// Voltage-only factors. `rate` holds τ (ms) for rhs() or exp(−dt/τ) for step().
struct VFactors {
  double inf[kNumGates];
  double rate[kNumGates];
  double rec_inak, rec_ipk, naca_e1, naca_e2, naca_den, cal_a, cal_b;
};
constexpr int kNumFactors = 2 * kNumGates + 7;
static_assert(sizeof(VFactors) == kNumFactors * sizeof(double), "VFactors must be a plain array of doubles");

constexpr double kTableVmin = -150.0, kTableVmax = 100.0, kTableDv = 0.02;
constexpr double kK1Umin = -250.0, kK1Umax = 250.0, kK1Du = 0.02;

void gate_inf_tau(double V, Ttp06Variant variant, double* inf, double* tau) {
  // m
  const double am = 1.0 / (1.0 + std::exp((-60.0 - V) / 5.0));
  const double bm = 0.1 / (1.0 + std::exp((V + 35.0) / 5.0)) + 0.10 / (1.0 + std::exp((V - 50.0) / 200.0));
  tau[0] = am * bm;
  const double em = 1.0 + std::exp((-56.86 - V) / 9.03);
  inf[0] = 1.0 / (em * em);
  // h, j
  const double eh = 1.0 + std::exp((V + 71.55) / 7.43);
  inf[1] = 1.0 / (eh * eh);
  inf[2] = inf[1];
  if (V >= -40.0) {
    tau[1] = 1.0 / (0.77 / (0.13 * (1.0 + std::exp(-(V + 10.66) / 11.1))));
    tau[2] = 1.0 / (0.6 * std::exp(0.057 * V) / (1.0 + std::exp(-0.1 * (V + 32.0))));
  } else {
    const double ah = 0.057 * std::exp(-(V + 80.0) / 6.8);
    const double bh = 2.7 * std::exp(0.079 * V) + 3.1e5 * std::exp(0.3485 * V);
    tau[1] = 1.0 / (ah + bh);
    const double aj = ((-2.5428e4) * std::exp(0.2444 * V) - 6.948e-6 * std::exp(-0.04391 * V)) * (V + 37.78) /
                      (1.0 + std::exp(0.311 * (V + 79.23)));
    const double bj = 0.02424 * std::exp(-0.01052 * V) / (1.0 + std::exp(-0.1378 * (V + 40.14)));
    tau[2] = 1.0 / (aj + bj);
  }
  // Xr1, Xr2
  inf[3] = 1.0 / (1.0 + std::exp((-26.0 - V) / 7.0));
  tau[3] = (450.0 / (1.0 + std::exp((-45.0 - V) / 10.0))) * (6.0 / (1.0 + std::exp((V + 30.0) / 11.5)));
  inf[4] = 1.0 / (1.0 + std::exp((V + 88.0) / 24.0));
  tau[4] = (3.0 / (1.0 + std::exp((-60.0 - V) / 20.0))) * (1.12 / (1.0 + std::exp((V - 60.0) / 20.0)));
  // Xs
  inf[5] = 1.0 / (1.0 + std::exp((-5.0 - V) / 14.0));
  tau[5] =
      (1400.0 / std::sqrt(1.0 + std::exp((5.0 - V) / 6.0))) * (1.0 / (1.0 + std::exp((V - 35.0) / 15.0))) +
      80.0;
  // r, s
  inf[6] = 1.0 / (1.0 + std::exp((20.0 - V) / 6.0));
  tau[6] = 9.5 * std::exp(-(V + 40.0) * (V + 40.0) / 1800.0) + 0.8;
  if (variant == Ttp06Variant::kEndo) {
    inf[7] = 1.0 / (1.0 + std::exp((V + 28.0) / 5.0));
    tau[7] = 1000.0 * std::exp(-(V + 67.0) * (V + 67.0) / 1000.0) + 8.0;
  } else {
    inf[7] = 1.0 / (1.0 + std::exp((V + 20.0) / 5.0));
    tau[7] =
        85.0 * std::exp(-(V + 45.0) * (V + 45.0) / 320.0) + 5.0 / (1.0 + std::exp((V - 20.0) / 5.0)) + 3.0;
  }
  // d, f, f2
  inf[8] = 1.0 / (1.0 + std::exp((-8.0 - V) / 7.5));
  tau[8] = (1.4 / (1.0 + std::exp((-35.0 - V) / 13.0)) + 0.25) * (1.4 / (1.0 + std::exp((V + 5.0) / 5.0))) +
           1.0 / (1.0 + std::exp((50.0 - V) / 20.0));
  inf[9] = 1.0 / (1.0 + std::exp((V + 20.0) / 7.0));
  tau[9] = 1102.5 * std::exp(-(V + 27.0) * (V + 27.0) / 225.0) + 200.0 / (1.0 + std::exp((13.0 - V) / 10.0)) +
           180.0 / (1.0 + std::exp((V + 30.0) / 10.0)) + 20.0;
  inf[10] = 0.67 / (1.0 + std::exp((V + 35.0) / 7.0)) + 0.33;
  tau[10] = 600.0 * std::exp(-(V + 25.0) * (V + 25.0) / 170.0) + 31.0 / (1.0 + std::exp((25.0 - V) / 10.0)) +
            16.0 / (1.0 + std::exp((V + 30.0) / 10.0));
}

/// The voltage-only factors of the currents (everything in VFactors but the gates).
void current_factors(double V, VFactors& f) {
  f.rec_inak = 1.0 / (1.0 + 0.1245 * std::exp(-0.1 * V * kFRT) + 0.0353 * std::exp(-V * kFRT));
  f.rec_ipk = 1.0 / (1.0 + std::exp((25.0 - V) / 5.98));
  f.naca_e1 = std::exp(kNaca * V * kFRT);
  f.naca_e2 = std::exp((kNaca - 1.0) * V * kFRT);
  f.naca_den = 1.0 / (1.0 + kKsat * f.naca_e2);
  const double x = 2.0 * (V - 15.0) * kFRT;
  f.cal_b = std::exp(x);
  // 4 (V−15) F²/RT / (e^x − 1) = 2F · x/(e^x − 1), with the removable singularity at x = 0.
  f.cal_a = 2.0 * kFaraday * (std::abs(x) < 1e-7 ? 1.0 - 0.5 * x : x / (f.cal_b - 1.0));
}

/// dt > 0: rate = exp(−dt/τ) (Rush–Larsen factor); dt = 0: rate = τ.
void v_factors(double V, double dt, Ttp06Variant variant, VFactors& f) {
  gate_inf_tau(V, variant, f.inf, f.rate);
  if (dt > 0)
    for (int g = 0; g < kNumGates; ++g) f.rate[g] = std::exp(-dt / f.rate[g]);
  current_factors(V, f);
}

double rec_ik1(double u) {  // u = V − E_K
  const double ak1 = 0.1 / (1.0 + std::exp(0.06 * (u - 200.0)));
  const double bk1 =
      (3.0 * std::exp(0.0002 * (u + 100.0)) + std::exp(0.1 * (u - 10.0))) / (1.0 + std::exp(-0.5 * u));
  return ak1 / (ak1 + bk1);
}

inline bool interpolate(const std::vector<double>& table, double vmin, double inv_dv, int stride, double v,
                        double* out) {
  const double pos = (v - vmin) * inv_dv;
  const long rows = static_cast<long>(table.size()) / stride;
  if (!(pos >= 0.0) || pos >= static_cast<double>(rows - 1)) return false;
  const long i = static_cast<long>(pos);
  const double w = pos - static_cast<double>(i);
  const double* a = table.data() + i * stride;
  const double* b = a + stride;
  for (int k = 0; k < stride; ++k) out[k] = a[k] + w * (b[k] - a[k]);
  return true;
}

/// Membrane currents (pA/pF) of one cell, from its states and the voltage factors.
struct Currents {
  double ina, ical, ito, ikr, iks, ik1, inaca, inak, ipca, ipk, ibna, ibca;
  double total() const {
    return ina + ical + ito + ikr + iks + ik1 + inaca + inak + ipca + ipk + ibna + ibca;
  }
};

inline Currents currents(const Ttp06Parameters& p, const VFactors& f, double rk1, double V, double Ki,
                         double Nai, double Cai, double Cass, double ek, double ena, double eks, double eca,
                         double xr1, double xr2, double xs, double m, double h, double j, double d, double ff,
                         double f2, double fcass, double s, double r) {
  Currents c;
  const double sk = std::sqrt(p.ko / 5.4);
  c.ina = p.g_na * m * m * m * h * j * (V - ena);
  c.ical = p.g_cal * d * ff * f2 * fcass * f.cal_a * (0.25 * f.cal_b * Cass - p.cao);
  c.ito = p.g_to * r * s * (V - ek);
  c.ikr = p.g_kr * sk * xr1 * xr2 * (V - ek);
  c.iks = p.g_ks * xs * xs * (V - eks);
  c.ik1 = p.g_k1 * sk * rk1 * (V - ek);
  const double nao3 = p.nao * p.nao * p.nao;
  c.inaca = p.k_naca / (kKmNai * kKmNai * kKmNai + nao3) / (kKmCa + p.cao) * f.naca_den *
            (f.naca_e1 * Nai * Nai * Nai * p.cao - f.naca_e2 * nao3 * Cai * 2.5);
  c.inak = p.p_nak * (p.ko / (p.ko + kKmK)) * (Nai / (Nai + kKmNa)) * f.rec_inak;
  c.ipca = p.g_pca * Cai / (kKpCa + Cai);
  c.ipk = p.g_pk * f.rec_ipk * (V - ek);
  c.ibna = p.g_bna * (V - ena);
  c.ibca = p.g_bca * (V - eca);
  (void)Ki;
  return c;
}

/// Free concentration after adding `delta` to the total (free + buffered) concentration, with
/// rapid buffering of capacity `buf` and dissociation constant `kbuf` (the published update).
inline double buffered_update(double free, double delta, double buf, double kbuf) {
  const double bound = buf * free / (free + kbuf);
  const double b = buf - bound - delta - free + kbuf;
  const double c = kbuf * (bound + delta + free);
  return (std::sqrt(b * b + 4.0 * c) - b) / 2.0;
}

}  // namespace

Ttp06Variant parse_ttp06_variant(const std::string& name) {
  if (name == "epi" || name.empty()) return Ttp06Variant::kEpi;
  if (name == "endo") return Ttp06Variant::kEndo;
  if (name == "mid" || name == "m" || name == "mcell") return Ttp06Variant::kMid;
  METAEIK_FAIL("unknown ttp06 variant \"" << name << "\" (expected one of epi, endo, mid)");
}

Ttp06Parameters Ttp06Parameters::for_variant(Ttp06Variant v) {
  Ttp06Parameters p;
  p.variant = v;
  p.g_ks = v == Ttp06Variant::kMid ? 0.098 : 0.392;
  p.g_to = v == Ttp06Variant::kEndo ? 0.073 : 0.294;
  return p;
}

TenTusscher2006::TenTusscher2006(Ttp06Parameters p) : p_(p) {}

std::string TenTusscher2006::name() const {
  switch (p_.variant) {
    case Ttp06Variant::kEndo:
      return "ttp06-endo";
    case Ttp06Variant::kMid:
      return "ttp06-mid";
    default:
      return "ttp06-epi";
  }
}

const std::vector<std::string>& TenTusscher2006::state_names() const {
  static const std::vector<std::string> names{"V",   "Ki",  "Nai",   "Cai", "CaSR", "Cass", "Rprime",
                                              "Xr1", "Xr2", "Xs",    "m",   "h",    "j",    "d",
                                              "f",   "f2",  "fCass", "s",   "r"};
  return names;
}

std::vector<double> TenTusscher2006::initial_state() const {
  // Published initial conditions (ten Tusscher & Panfilov 2006 / CellML model files).
  switch (p_.variant) {
    case Ttp06Variant::kEndo:
      return {-86.709, 138.4,  10.355, 0.00013,  3.715,  0.00022, 0.9068, 0.00448, 0.476,   0.0087,
              0.00155, 0.7573, 0.7225, 3.164e-5, 0.8009, 0.9778,  0.9953, 0.3212,  2.235e-8};
    case Ttp06Variant::kMid:
      return {-85.423, 138.52, 10.132, 0.000153, 4.272,  0.00042, 0.8978, 0.0165,   0.473,   0.0174,
              0.00165, 0.749,  0.6788, 3.288e-5, 0.7026, 0.9526,  0.9942, 0.999998, 2.347e-8};
    default:
      return {-85.23,  136.89, 8.604,  0.000126, 3.64,   0.00036, 0.9073, 0.00621,  0.4712, 0.0095,
              0.00172, 0.7444, 0.7045, 3.373e-5, 0.7888, 0.9755,  0.9953, 0.999998, 2.42e-8};
  }
}

void TenTusscher2006::rhs(const double* y, std::size_t n, const double* i_stim, double* dydt) const {
  const Ttp06Parameters& p = p_;
#pragma omp parallel for schedule(static) if (n > 1024)
  for (std::size_t c = 0; c < n; ++c) {
    auto Y = [&](int s) { return y[static_cast<std::size_t>(s) * n + c]; };
    auto D = [&](int s) -> double& { return dydt[static_cast<std::size_t>(s) * n + c]; };
    const double V = Y(kV), Ki = Y(kKi), Nai = Y(kNai), Cai = Y(kCai), CaSR = Y(kCaSR), Cass = Y(kCass);
    VFactors f;
    v_factors(V, 0.0, p.variant, f);
    const double ek = kRTONF * std::log(p.ko / Ki), ena = kRTONF * std::log(p.nao / Nai);
    const double eks = kRTONF * std::log((p.ko + kPKNa * p.nao) / (Ki + kPKNa * Nai));
    const double eca = 0.5 * kRTONF * std::log(p.cao / Cai);
    const Currents I =
        currents(p, f, rec_ik1(V - ek), V, Ki, Nai, Cai, Cass, ek, ena, eks, eca, Y(kXr1), Y(kXr2), Y(kXs),
                 Y(kM), Y(kH), Y(kJ), Y(kD), Y(kF), Y(kF2), Y(kFCass), Y(kS), Y(kR));
    const double istim = -(i_stim ? i_stim[c] : 0.0);
    // Calcium handling.
    const double kcasr = kMaxsr - (kMaxsr - kMinsr) / (1.0 + (kEC / CaSR) * (kEC / CaSR));
    const double k1 = kK1p / kcasr, k2 = kK2p * kcasr;
    const double R = Y(kRprime);
    const double O = k1 * Cass * Cass * R / (kK3 + k1 * Cass * Cass);
    const double irel = kVrel * O * (CaSR - Cass);
    const double ileak = kVleak * (CaSR - Cai);
    const double iup = kVmaxup / (1.0 + (kKup * kKup) / (Cai * Cai));
    const double ixfer = kVxfer * (Cass - Cai);
    const double bc = 1.0 / (1.0 + kBufc * kKbufc / ((Cai + kKbufc) * (Cai + kKbufc)));
    const double bsr = 1.0 / (1.0 + kBufsr * kKbufsr / ((CaSR + kKbufsr) * (CaSR + kKbufsr)));
    const double bss = 1.0 / (1.0 + kBufss * kKbufss / ((Cass + kKbufss) * (Cass + kKbufss)));
    D(kV) = -(I.total() + istim);
    D(kKi) = -(istim + I.ik1 + I.ito + I.ikr + I.iks - 2.0 * I.inak + I.ipk) * kInvVcF * kCm;
    D(kNai) = -(I.ina + I.ibna + 3.0 * I.inak + 3.0 * I.inaca) * kInvVcF * kCm;
    D(kCai) = bc * ((ileak - iup) * kVsr / kVc + ixfer - (I.ibca + I.ipca - 2.0 * I.inaca) * kInvVcF2 * kCm);
    D(kCaSR) = bsr * (iup - irel - ileak);
    D(kCass) = bss * (-ixfer * kVc / kVss + irel * kVsr / kVss - I.ical * kInvVssF2 * kCm);
    D(kRprime) = kK4 * (1.0 - R) - k2 * Cass * R;
    for (int g = 0; g < kNumGates; ++g) D(kGateState[g]) = (f.inf[g] - Y(kGateState[g])) / f.rate[g];
    const double fcass_inf = 0.6 / (1.0 + (Cass / 0.05) * (Cass / 0.05)) + 0.4;
    const double tau_fcass = 80.0 / (1.0 + (Cass / 0.05) * (Cass / 0.05)) + 2.0;
    D(kFCass) = (fcass_inf - Y(kFCass)) / tau_fcass;
  }
}

void TenTusscher2006::ionic_current(const double* y, std::size_t n, double* i_ion) const {
  // Same arithmetic as step() (tables once step() has built them), so that the current of a
  // state equals the one step() applies to V.
  const bool table = p_.lookup_table && table_dt_ > 0;
  const Ttp06Parameters& p = p_;
  const double inv_dv = 1.0 / kTableDv, inv_du = 1.0 / kK1Du;
#pragma omp parallel for schedule(static) if (n > 1024)
  for (std::size_t c = 0; c < n; ++c) {
    auto Y = [&](int s) { return y[static_cast<std::size_t>(s) * n + c]; };
    const double V = Y(kV), Ki = Y(kKi), Nai = Y(kNai), Cai = Y(kCai), Cass = Y(kCass);
    VFactors f;
    if (!table || !interpolate(v_table_, kTableVmin, inv_dv, kNumFactors, V, reinterpret_cast<double*>(&f)))
      current_factors(V, f);
    const double ek = kRTONF * std::log(p.ko / Ki), ena = kRTONF * std::log(p.nao / Nai);
    const double eks = kRTONF * std::log((p.ko + kPKNa * p.nao) / (Ki + kPKNa * Nai));
    const double eca = 0.5 * kRTONF * std::log(p.cao / Cai);
    double rk1;
    if (!table || !interpolate(k1_table_, kK1Umin, inv_du, 1, V - ek, &rk1)) rk1 = rec_ik1(V - ek);
    i_ion[c] = currents(p, f, rk1, V, Ki, Nai, Cai, Cass, ek, ena, eks, eca, Y(kXr1), Y(kXr2), Y(kXs), Y(kM),
                        Y(kH), Y(kJ), Y(kD), Y(kF), Y(kF2), Y(kFCass), Y(kS), Y(kR))
                   .total();
  }
}

void TenTusscher2006::build_tables(double dt) {
  const long rows = std::lround((kTableVmax - kTableVmin) / kTableDv) + 1;
  v_table_.assign(static_cast<std::size_t>(rows) * kNumFactors, 0.0);
  for (long i = 0; i < rows; ++i) {
    VFactors f;
    v_factors(kTableVmin + kTableDv * static_cast<double>(i), dt, p_.variant, f);
    std::copy_n(reinterpret_cast<const double*>(&f), kNumFactors, v_table_.data() + i * kNumFactors);
  }
  const long krows = std::lround((kK1Umax - kK1Umin) / kK1Du) + 1;
  k1_table_.resize(static_cast<std::size_t>(krows));
  for (long i = 0; i < krows; ++i) k1_table_[i] = rec_ik1(kK1Umin + kK1Du * static_cast<double>(i));
  table_dt_ = dt;
}

void TenTusscher2006::step(double* y, std::size_t n, const double* i_stim, double dt) {
  METAEIK_CHECK(dt > 0, "ttp06: time step must be positive, got " << dt);
  const bool table = p_.lookup_table;
  if (table && table_dt_ != dt) build_tables(dt);
  const Ttp06Parameters& p = p_;
  const double inv_dv = 1.0 / kTableDv, inv_du = 1.0 / kK1Du;
#pragma omp parallel for schedule(static) if (n > 1024)
  for (std::size_t c = 0; c < n; ++c) {
    auto Y = [&](int s) -> double& { return y[static_cast<std::size_t>(s) * n + c]; };
    const double V = Y(kV), Ki = Y(kKi), Nai = Y(kNai), Cai = Y(kCai), CaSR = Y(kCaSR), Cass = Y(kCass);
    VFactors f;
    if (!table || !interpolate(v_table_, kTableVmin, inv_dv, kNumFactors, V, reinterpret_cast<double*>(&f)))
      v_factors(V, dt, p.variant, f);
    const double ek = kRTONF * std::log(p.ko / Ki), ena = kRTONF * std::log(p.nao / Nai);
    const double eks = kRTONF * std::log((p.ko + kPKNa * p.nao) / (Ki + kPKNa * Nai));
    const double eca = 0.5 * kRTONF * std::log(p.cao / Cai);
    double rk1;
    if (!table || !interpolate(k1_table_, kK1Umin, inv_du, 1, V - ek, &rk1)) rk1 = rec_ik1(V - ek);
    const Currents I = currents(p, f, rk1, V, Ki, Nai, Cai, Cass, ek, ena, eks, eca, Y(kXr1), Y(kXr2), Y(kXs),
                                Y(kM), Y(kH), Y(kJ), Y(kD), Y(kF), Y(kF2), Y(kFCass), Y(kS), Y(kR));
    const double istim = -(i_stim ? i_stim[c] : 0.0);

    // Calcium handling (published update order: R̄, then SR, subspace, cytosol).
    const double kcasr = kMaxsr - (kMaxsr - kMinsr) / (1.0 + (kEC / CaSR) * (kEC / CaSR));
    const double k1 = kK1p / kcasr, k2 = kK2p * kcasr;
    double& R = Y(kRprime);
    R += dt * (kK4 * (1.0 - R) - k2 * Cass * R);
    const double O = k1 * Cass * Cass * R / (kK3 + k1 * Cass * Cass);
    const double irel = kVrel * O * (CaSR - Cass);
    const double ileak = kVleak * (CaSR - Cai);
    const double iup = kVmaxup / (1.0 + (kKup * kKup) / (Cai * Cai));
    const double ixfer = kVxfer * (Cass - Cai);
    Y(kCaSR) = buffered_update(CaSR, dt * (iup - irel - ileak), kBufsr, kKbufsr);
    const double cass_new = buffered_update(
        Cass, dt * (-ixfer * kVc / kVss + irel * kVsr / kVss - I.ical * kInvVssF2 * kCm), kBufss, kKbufss);
    Y(kCass) = cass_new;
    Y(kCai) = buffered_update(
        Cai, dt * (-(I.ibca + I.ipca - 2.0 * I.inaca) * kInvVcF2 * kCm - (iup - ileak) * kVsr / kVc + ixfer),
        kBufc, kKbufc);
    Y(kNai) = Nai + dt * (-(I.ina + I.ibna + 3.0 * I.inak + 3.0 * I.inaca) * kInvVcF * kCm);
    Y(kKi) = Ki + dt * (-(istim + I.ik1 + I.ito + I.ikr + I.iks - 2.0 * I.inak + I.ipk) * kInvVcF * kCm);

    // Gates: Rush–Larsen with V (and Cass for fCass) frozen over the step.
    for (int g = 0; g < kNumGates; ++g) {
      double& x = Y(kGateState[g]);
      x = f.inf[g] - (f.inf[g] - x) * f.rate[g];
    }
    const double q = (cass_new / 0.05) * (cass_new / 0.05);
    const double fcass_inf = 0.6 / (1.0 + q) + 0.4;
    const double tau_fcass = 80.0 / (1.0 + q) + 2.0;
    double& fc = Y(kFCass);
    fc = fcass_inf - (fcass_inf - fc) * std::exp(-dt / tau_fcass);

    Y(kV) = V - dt * (I.total() + istim);
  }
}

}  // namespace metaeik::monodomain
