#include "surrogates/fhn/problem.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.hpp"
#include "core/random.hpp"
#include "monodomain/fitzhugh_nagumo.hpp"
#include "monodomain/fitzhugh_nagumo_cubic.hpp"

namespace metaeik::surrogates::fhn {

ProblemOptions resolve(ProblemOptions p) {
  METAEIK_CHECK(p.problem == "a" || p.problem == "b" || p.problem == "c",
                "problem must be one of a, b, c, got \"" << p.problem << "\"");
  if (p.horizon <= 0) p.horizon = p.problem == "c" ? 20.0 : 25.0;
  if (p.current < 0) p.current = p.problem == "a" ? 0.0 : 0.08;
  return p;
}

int input_count(const ProblemOptions& p) { return p.problem == "a" ? 1 : p.problem == "b" ? 3 : 4; }

void input_bounds(const ProblemOptions& p, std::vector<double>& lo, std::vector<double>& hi) {
  const ProblemOptions q = resolve(p);
  lo = {0.0};
  hi = {q.horizon};
  if (q.problem == "a") return;
  lo.insert(lo.end(), {q.u0_min, q.w0_min});
  hi.insert(hi.end(), {q.u0_max, q.w0_max});
  if (q.problem == "c") lo.push_back(0.0), hi.push_back(1.0);
}

std::unique_ptr<monodomain::CellModel> make_model(const ProblemOptions& p0) {
  const ProblemOptions p = resolve(p0);
  METAEIK_CHECK(p.model == "fhn-cubic" || p.model == "fhn-classic",
                "model must be fhn-cubic or fhn-classic, got \"" << p.model << "\"");
  METAEIK_CHECK(p.parameters.is_object(), "parameters must be an object");
  METAEIK_CHECK(!p.parameters.contains("i_app"),
                "parameters: i_app is set by the problem (use the key 'current')");
  core::Json params = p.parameters;
  params["i_app"] = p.current;
  return monodomain::make_cell_model(p.model == "fhn-cubic" ? "fhn-cubic" : "fhn", "", params, "parameters");
}

RhsCoefficients rhs_coefficients(const ProblemOptions& p) {
  const auto model = make_model(p);
  RhsCoefficients r;
  if (const auto* m = dynamic_cast<const monodomain::FitzHughNagumoCubic*>(model.get())) {
    const auto& q = m->parameters();
    r.cubic = true, r.a = q.a, r.c = q.c, r.e = q.e, r.g = q.g, r.current = q.i_app;
  } else {
    const auto& q = dynamic_cast<const monodomain::FitzHughNagumo&>(*model).parameters();
    r.cubic = false, r.a = q.a, r.b = q.b, r.c = q.c, r.tau = q.tau, r.current = q.i_app;
  }
  return r;
}

double stim_per_k(const ProblemOptions& p) {
  const RhsCoefficients r = rhs_coefficients(p);
  return r.cubic ? r.c * p.current_k : p.current_k;  // the cubic form's current sits inside c·[...]
}

std::vector<double> latin_hypercube(int n, int d, std::uint64_t seed) {
  METAEIK_CHECK(n > 0 && d > 0, "latin_hypercube: n and d must be positive");
  std::vector<double> x(static_cast<std::size_t>(n) * d);
  core::Rng rng = core::make_rng(seed, 0x1a5);
  auto uniform = [&] { return (rng() >> 11) * 0x1.0p-53; };
  std::vector<int> perm(n);
  for (int j = 0; j < d; ++j) {
    for (int i = 0; i < n; ++i) perm[i] = i;
    for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng() % static_cast<std::uint64_t>(i + 1)]);
    for (int i = 0; i < n; ++i) x[std::size_t(i) * d + j] = (perm[i] + uniform()) / n;
  }
  return x;
}

Trajectories solve_trajectories(const ProblemOptions& p0, const std::vector<double>& u0,
                                const std::vector<double>& w0, const std::vector<double>& k, double dt,
                                double store_dt, double horizon) {
  const ProblemOptions p = resolve(p0);
  METAEIK_CHECK(dt > 0 && store_dt >= dt,
                "data: need 0 < dt <= store_dt, got dt " << dt << ", store_dt " << store_dt);
  const long every = std::lround(store_dt / dt);
  METAEIK_CHECK(std::abs(every * dt - store_dt) < 1e-9 * store_dt,
                "data: store_dt " << store_dt << " is not a multiple of dt " << dt);
  const long stored = std::lround(horizon / store_dt);
  METAEIK_CHECK(std::abs(stored * store_dt - horizon) < 1e-9 * horizon,
                "data: horizon " << horizon << " is not a multiple of store_dt " << store_dt);
  const int n = static_cast<int>(u0.size());
  METAEIK_CHECK(w0.size() == u0.size() && (k.empty() || k.size() == u0.size()),
                "data: start arrays differ in size");
  Trajectories t;
  t.count = n, t.points = static_cast<int>(stored + 1), t.store_dt = store_dt;
  t.u0 = u0, t.w0 = w0, t.k = k.empty() ? std::vector<double>(n, 0.0) : k;
  t.y.resize(std::size_t(n) * t.points * 2);
  auto model = make_model(p);
  std::vector<double> state(2 * std::size_t(n)), stim;
  for (int j = 0; j < n; ++j) state[j] = u0[j], state[n + j] = w0[j];
  if (!k.empty()) {
    const double s = stim_per_k(p);
    stim.resize(n);
    for (int j = 0; j < n; ++j) stim[j] = s * k[j];
  }
  auto store = [&](int i) {
    for (int j = 0; j < n; ++j) {
      t.y[(std::size_t(j) * t.points + i) * 2] = state[j];
      t.y[(std::size_t(j) * t.points + i) * 2 + 1] = state[n + j];
    }
  };
  store(0);
  for (int i = 1; i < t.points; ++i) {
    for (long s = 0; s < every; ++s) model->step(state.data(), n, stim.empty() ? nullptr : stim.data(), dt);
    store(i);
  }
  return t;
}

void bench_starts(const ProblemOptions& p0, int samples, std::uint64_t seed, std::vector<double>& u0,
                  std::vector<double>& w0, std::vector<double>& k) {
  const ProblemOptions p = resolve(p0);
  const auto lhs = latin_hypercube(samples, 3, seed);
  u0.resize(samples), w0.resize(samples), k.assign(samples, 0.0);
  for (int j = 0; j < samples; ++j) {
    u0[j] = p.problem == "a" ? p.u0 : p.u0_min + lhs[3 * std::size_t(j)] * (p.u0_max - p.u0_min);
    w0[j] = p.problem == "a" ? p.w0 : p.w0_min + lhs[3 * std::size_t(j) + 1] * (p.w0_max - p.w0_min);
    if (p.problem == "c") k[j] = lhs[3 * std::size_t(j) + 2];
  }
}

std::vector<EulerTiming> time_euler(const ProblemOptions& p, int samples, double duration,
                                    const std::vector<double>& dts, double reference_dt, int threads,
                                    std::uint64_t seed) {
  std::vector<double> u0, w0, k;
  bench_starts(p, samples, seed, u0, w0, k);
  if (resolve(p).problem != "c") k.clear();
  const int saved = omp_get_max_threads();
  omp_set_num_threads(std::max(1, threads));
  auto timed = [&](double dt, Trajectories& t) {
    const auto start = std::chrono::steady_clock::now();
    t = solve_trajectories(p, u0, w0, k, dt, 1.0, duration);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  Trajectories ref;
  const double ref_seconds = timed(reference_dt, ref);
  std::vector<EulerTiming> out;
  for (double dt : dts) {
    Trajectories t;
    EulerTiming e;
    e.dt = dt;
    e.seconds = timed(dt, t);
    double sum = 0;
    std::size_t n = 0;
    for (int j = 0; j < t.count; ++j)
      for (int i = 1; i < t.points; ++i)
        for (int s = 0; s < 2; ++s) {
          const double err = std::abs(t.y[(std::size_t(j) * t.points + i) * 2 + s] -
                                      ref.y[(std::size_t(j) * t.points + i) * 2 + s]);
          sum += err, ++n;
          e.max_error = std::isfinite(err) ? std::max(e.max_error, err) : err;
        }
    e.mae = sum / n;
    out.push_back(e);
  }
  out.push_back({reference_dt, ref_seconds, 0.0, 0.0});
  omp_set_num_threads(saved);
  return out;
}

namespace {

/// Every stored point of every trajectory (or only the listed point indices) as samples.
Samples to_samples(const ProblemOptions& p, const Trajectories& t, const std::vector<int>& only = {}) {
  Samples s;
  s.inputs = input_count(p);
  std::vector<int> idx = only;
  if (idx.empty())
    for (int i = 0; i < t.points; ++i) idx.push_back(i);
  s.x.reserve(std::size_t(t.count) * idx.size() * s.inputs);
  s.y.reserve(std::size_t(t.count) * idx.size() * 2);
  for (int j = 0; j < t.count; ++j)
    for (int i : idx) {
      s.x.push_back(static_cast<float>(i * t.store_dt));
      if (s.inputs >= 3)
        s.x.push_back(static_cast<float>(t.u0[j])), s.x.push_back(static_cast<float>(t.w0[j]));
      if (s.inputs == 4) s.x.push_back(static_cast<float>(t.k[j]));
      s.y.push_back(static_cast<float>(t.u(j, i)));
      s.y.push_back(static_cast<float>(t.w(j, i)));
    }
  return s;
}

}  // namespace

Dataset make_dataset(const ProblemOptions& problem, const DataOptions& o) {
  Dataset d;
  d.problem = resolve(problem);
  d.options = o;
  const ProblemOptions& p = d.problem;
  if (p.problem == "a") {
    d.train = solve_trajectories(p, {p.u0}, {p.w0}, {}, o.dt, o.store_dt, p.horizon);
    d.validation = d.train;
    METAEIK_CHECK(o.points >= 2 && o.points <= d.train.points,
                  "data.points: need 2.." << d.train.points << " training points for problem a (store_dt "
                                          << o.store_dt << "), got " << o.points);
    std::vector<int> idx;
    for (int i = 0; i < o.points; ++i)
      idx.push_back(static_cast<int>(std::lround(double(i) * (d.train.points - 1) / (o.points - 1))));
    d.train_samples = to_samples(p, d.train, idx);
    d.validation_samples = to_samples(p, d.validation);
    return d;
  }
  METAEIK_CHECK(o.train > 0 && o.validation > 0 && o.train + o.validation <= o.trajectories,
                "data: need train > 0, validation > 0 and train + validation <= trajectories, got "
                    << o.train << " + " << o.validation << " of " << o.trajectories);
  const int dims = p.problem == "c" ? 3 : 2;
  const auto lhs = latin_hypercube(o.trajectories, dims, o.seed);
  std::vector<double> u0[2], w0[2], k[2];
  for (int j = 0; j < o.train + o.validation; ++j) {
    const int part = j < o.train ? 0 : 1;
    u0[part].push_back(p.u0_min + lhs[std::size_t(j) * dims] * (p.u0_max - p.u0_min));
    w0[part].push_back(p.w0_min + lhs[std::size_t(j) * dims + 1] * (p.w0_max - p.w0_min));
    if (dims == 3) k[part].push_back(lhs[std::size_t(j) * dims + 2]);
  }
  d.train = solve_trajectories(p, u0[0], w0[0], k[0], o.dt, o.store_dt, p.horizon);
  d.validation = solve_trajectories(p, u0[1], w0[1], k[1], o.dt, o.store_dt, p.horizon);
  d.train_samples = to_samples(p, d.train);
  d.validation_samples = to_samples(p, d.validation);
  return d;
}

void read_problem(core::JsonReader& r, ProblemOptions& p) {
  r.get_choice("problem", p.problem, {"a", "b", "c"});
  r.get_choice("model", p.model, {"fhn-cubic", "fhn-classic"});
  if (r.has("parameters")) {
    METAEIK_CHECK(r.json().at("parameters").is_object(), r.error_prefix("parameters")
                                                             << "expected an object");
    p.parameters = r.json().at("parameters");
    r.child("parameters");  // marks the key as known; contents are checked by the cell model
  }
  r.get("horizon", p.horizon, 0.0, 1e6);
  r.get("current", p.current, -1.0, 1e3);
  r.get("current_k", p.current_k, -1e3, 1e3);
  r.get("u0", p.u0);
  r.get("w0", p.w0);
  r.get("u0_min", p.u0_min);
  r.get("u0_max", p.u0_max);
  r.get("w0_min", p.w0_min);
  r.get("w0_max", p.w0_max);
  METAEIK_CHECK(p.u0_min <= p.u0_max, r.error_prefix("u0_max") << "must be >= u0_min");
  METAEIK_CHECK(p.w0_min <= p.w0_max, r.error_prefix("w0_max") << "must be >= w0_min");
}

void read_data(core::JsonReader& r, DataOptions& d) {
  r.get("trajectories", d.trajectories, 1, 10000000);
  r.get("train", d.train, 1, 10000000);
  r.get("validation", d.validation, 1, 10000000);
  r.get("points", d.points, 2, 10000000);
  r.get("dt", d.dt, 1e-6, 10.0);
  r.get("store_dt", d.store_dt, 1e-6, 10.0);
  r.get("seed", d.seed);
  r.finish();
}

core::Json to_json(const ProblemOptions& p) {
  return {{"problem", p.problem}, {"model", p.model},     {"parameters", p.parameters},
          {"horizon", p.horizon}, {"current", p.current}, {"current_k", p.current_k},
          {"u0", p.u0},           {"w0", p.w0},           {"u0_min", p.u0_min},
          {"u0_max", p.u0_max},   {"w0_min", p.w0_min},   {"w0_max", p.w0_max}};
}

core::Json to_json(const DataOptions& d) {
  return {{"trajectories", d.trajectories},
          {"train", d.train},
          {"validation", d.validation},
          {"points", d.points},
          {"dt", d.dt},
          {"store_dt", d.store_dt},
          {"seed", d.seed}};
}

}  // namespace metaeik::surrogates::fhn
