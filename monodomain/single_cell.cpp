#include "monodomain/single_cell.hpp"

#include <cmath>
#include <iomanip>
#include <limits>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace metaeik::monodomain {

PacingProtocol read_pacing_protocol(const core::Json& json, const std::string& source) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
  PacingProtocol p;
  core::JsonReader r(json, source);
  const double big = 1e9;
  r.get("cycle_length", p.cycle_length, 1e-9, big);
  r.get("beats", p.beats, 0, 1000000);
  r.get("stim_start", p.stim_start, 0.0, big);
  r.get("stim_amplitude", p.stim_amplitude, -big, big);
  r.get("stim_duration", p.stim_duration, 0.0, big);
  r.get("dt", p.dt);
  METAEIK_CHECK(p.dt > 0 && p.dt <= 10, r.error_prefix("dt")
                                            << "time step must be in (0, 10] ms, got " << p.dt);
  r.get("output_interval", p.output_interval, 0.0, big);
  r.get("outputs", p.outputs);
  r.get("parameters", p.parameters);
  METAEIK_CHECK(p.parameters.is_object(), r.error_prefix("parameters") << "expected an object");
  std::string description;
  r.get("description", description);
  r.finish();
  return p;
}

ApFeatures ap_features(const std::vector<double>& v, double dt, double stim_time) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ApFeatures f;
  f.stim_time = stim_time;
  f.apd50 = f.apd90 = nan;
  if (v.size() < 2) return f;
  f.resting = v.front();
  std::size_t ipeak = 0, iup = 0;
  f.peak = v[0];
  f.dvdt_max = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] > f.peak) f.peak = v[i], ipeak = i;
    if (i + 1 < v.size() && (v[i + 1] - v[i]) / dt > f.dvdt_max) f.dvdt_max = (v[i + 1] - v[i]) / dt, iup = i;
  }
  f.t_upstroke = stim_time + (static_cast<double>(iup) + 0.5) * dt;
  auto repolarised = [&](double fraction) {
    const double level = f.peak - fraction * (f.peak - f.resting);
    for (std::size_t i = ipeak; i + 1 < v.size(); ++i)
      if (v[i] >= level && v[i + 1] < level) {
        const double t = stim_time + (static_cast<double>(i) + (v[i] - level) / (v[i] - v[i + 1])) * dt;
        return t - f.t_upstroke;
      }
    return nan;
  };
  f.apd50 = repolarised(0.5);
  f.apd90 = repolarised(0.9);
  return f;
}

CellTrace run_single_cell(CellModel& model, const PacingProtocol& p, std::vector<double> initial) {
  METAEIK_CHECK(p.dt > 0, "cell protocol: dt must be positive, got " << p.dt);
  const int ns = model.num_states();
  std::vector<double> y = initial.empty() ? model.initial_state() : std::move(initial);
  METAEIK_CHECK(static_cast<int>(y.size()) == ns,
                "initial state has " << y.size() << " values, model " << model.name() << " has " << ns);
  CellTrace trace;
  std::vector<int> idx;
  if (p.outputs.empty()) {
    trace.names = model.state_names();
    for (int s = 0; s < ns; ++s) idx.push_back(s);
  } else {
    trace.names = p.outputs;
    for (const auto& n : p.outputs) idx.push_back(model.state_index(n));
  }
  const double t_end = p.stim_start + p.beats * p.cycle_length;
  const long n_steps = std::lround(t_end / p.dt);
  const long every = std::max(1L, std::lround(p.output_interval / p.dt));
  std::vector<double> v_all(static_cast<std::size_t>(n_steps) + 1);
  const double eps = 1e-9;
  auto sample = [&](long step) {
    trace.time.push_back(step * p.dt);
    for (int s : idx) trace.values.push_back(y[s]);
  };
  v_all[0] = y[0];
  sample(0);
  for (long k = 0; k < n_steps; ++k) {
    const double t = k * p.dt;
    double stim = 0;
    if (t >= p.stim_start - eps && p.beats > 0) {
      const double since = t - p.stim_start;
      const long beat = static_cast<long>(std::floor((since + eps) / p.cycle_length));
      const double in_beat = since - beat * p.cycle_length;
      if (beat < p.beats && in_beat >= -eps && in_beat < p.stim_duration - eps) stim = p.stim_amplitude;
    }
    model.step(y.data(), 1, &stim, p.dt);
    METAEIK_CHECK(std::isfinite(y[0]), "cell model " << model.name() << " diverged at t = " << t + p.dt
                                                     << " ms (dt = " << p.dt << " ms too large?)");
    v_all[k + 1] = y[0];
    if ((k + 1) % every == 0) sample(k + 1);
  }
  for (int b = 0; b < p.beats; ++b) {
    const double onset = p.stim_start + b * p.cycle_length;
    const long i0 = std::lround(onset / p.dt),
               i1 = std::min<long>(n_steps, std::lround((onset + p.cycle_length) / p.dt));
    std::vector<double> window(v_all.begin() + i0, v_all.begin() + i1 + 1);
    ApFeatures f = ap_features(window, p.dt, onset);
    f.beat = b + 1;
    trace.beats.push_back(f);
  }
  return trace;
}

void write_trace_csv(const CellTrace& trace, const std::filesystem::path& path) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << "time";
    for (const auto& n : trace.names) os << ',' << n;
    os << '\n' << std::setprecision(10);
    const std::size_t m = trace.names.size();
    for (std::size_t i = 0; i < trace.time.size(); ++i) {
      os << trace.time[i];
      for (std::size_t k = 0; k < m; ++k) os << ',' << trace.values[i * m + k];
      os << '\n';
    }
  });
}

void write_features_csv(const CellTrace& trace, const std::filesystem::path& path) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << "beat,stim_time,resting,peak,dvdt_max,t_upstroke,apd50,apd90\n" << std::setprecision(8);
    for (const auto& f : trace.beats)
      os << f.beat << ',' << f.stim_time << ',' << f.resting << ',' << f.peak << ',' << f.dvdt_max << ','
         << f.t_upstroke << ',' << f.apd50 << ',' << f.apd90 << '\n';
  });
}

}  // namespace metaeik::monodomain
