#include "surrogates/lstm/rollout_report.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "monodomain/vti_io.hpp"

namespace metaeik::surrogates::lstm {

namespace {

double pm1(double x, double lo, double hi) { return hi > lo ? 2 * (x - lo) / (hi - lo) - 1 : 0.0; }

std::size_t variable_index(const StatesData& d, const std::string& name) {
  const auto it = std::find(d.variables.begin(), d.variables.end(), name);
  METAEIK_CHECK(it != d.variables.end(), "the rollout has no variable '" << name << "'");
  return static_cast<std::size_t>(it - d.variables.begin());
}

}  // namespace

RolloutMetrics rollout_metrics(const Rollout& r, const StatesData& truth, const ReportOptions& o) {
  const std::size_t nv = truth.variables.size(), n = truth.nodes, fs = truth.frame_size();
  METAEIK_CHECK(r.predicted.size() == r.steps * fs, "rollout size does not match the data frames");
  RolloutMetrics m;
  const std::size_t with_truth =
      r.first_frame < truth.frames ? std::min(r.steps, truth.frames - r.first_frame) : 0;
  m.compared_steps = std::min(with_truth, o.mse_steps);
  m.mse_pm1.assign(nv, std::numeric_limits<double>::quiet_NaN());
  m.mse_zscore = m.mse_pm1;
  const auto& s = r.stats;
  auto sq_err = [&](std::size_t k, std::size_t v, std::size_t c, bool zscore) {
    const double p = r.predicted[k * fs + v * n + c], t = truth.frame(r.first_frame + k)[v * n + c];
    const double d = zscore ? (p - t) / s.std[v] : pm1(p, s.min[v], s.max[v]) - pm1(t, s.min[v], s.max[v]);
    return d * d;
  };
  if (m.compared_steps > 0)
    for (std::size_t v = 0; v < nv; ++v) {
      double a = 0, b = 0;
      for (std::size_t k = 0; k < m.compared_steps; ++k)
        for (std::size_t c = 0; c < n; ++c) a += sq_err(k, v, c, false), b += sq_err(k, v, c, true);
      m.mse_pm1[v] = a / (m.compared_steps * n);
      m.mse_zscore[v] = b / (m.compared_steps * n);
    }
  const std::size_t vi = variable_index(truth, "V");
  const auto per = static_cast<std::size_t>(std::llround(o.cycle_ms / truth.interval_ms));
  METAEIK_CHECK(per >= 2, "cycle of " << o.cycle_ms << " ms is shorter than two frames");
  auto activated_fraction = [&](auto value, std::size_t k0) {  // value(k, c): V of predicted step k
    std::size_t count = 0;
    for (std::size_t c = 0; c < n; ++c)
      for (std::size_t k = k0 + 1; k < k0 + per; ++k)
        if (value(k - 1, c) < o.activation_threshold && value(k, c) >= o.activation_threshold) {
          ++count;
          break;
        }
    return double(count) / n;
  };
  auto pred_v = [&](std::size_t k, std::size_t c) { return double(r.predicted[k * fs + vi * n + c]); };
  auto true_v = [&](std::size_t k, std::size_t c) {
    return double(truth.frame(r.first_frame + k)[vi * n + c]);
  };
  m.all_cycles_activate = r.steps >= per;
  for (std::size_t k0 = 0; k0 + per <= r.steps; k0 += per) {
    m.activated.push_back(activated_fraction(pred_v, k0));
    m.all_cycles_activate = m.all_cycles_activate && m.activated.back() >= o.activated_fraction;
    if (k0 + per > with_truth) continue;
    m.true_activated.push_back(activated_fraction(true_v, k0));
    double a = 0;
    for (std::size_t k = k0; k < k0 + per; ++k)
      for (std::size_t c = 0; c < n; ++c) a += sq_err(k, vi, c, false);
    m.mse_per_cycle.push_back(a / (per * n));
  }
  m.ms_per_cycle = 1000 * r.generation_seconds / (r.steps * truth.interval_ms / o.cycle_ms);
  return m;
}

core::Json metrics_json(const Rollout& r, const RolloutMetrics& m, const StatesData& truth) {
  core::Json pm = core::Json::object(), zs = core::Json::object();
  auto num = [](double x) { return std::isfinite(x) ? core::Json(x) : core::Json(nullptr); };
  for (std::size_t v = 0; v < truth.variables.size(); ++v) {
    pm[truth.variables[v]] = num(m.mse_pm1[v]);
    zs[truth.variables[v]] = num(m.mse_zscore[v]);
  }
  return {{"model", r.model},
          {"first_frame", r.first_frame},
          {"steps", r.steps},
          {"warmup", r.warmup},
          {"compared_steps", m.compared_steps},
          {"mse_pm1", pm},
          {"mse_zscore", zs},
          {"mse_per_cycle", m.mse_per_cycle},
          {"last_cycle_mse_pm1",
           m.mse_per_cycle.empty() ? core::Json(nullptr) : core::Json(m.mse_per_cycle.back())},
          {"activated_fraction_per_cycle", m.activated},
          {"true_activated_fraction_per_cycle", m.true_activated},
          {"all_cycles_activate", m.all_cycles_activate},
          {"ms_per_cycle", m.ms_per_cycle},
          {"warmup_ms", 1000 * r.warmup_seconds},
          {"warmup_one_step_mse_zscore",
           std::isnan(r.warmup_one_step_mse) ? core::Json(nullptr) : core::Json(r.warmup_one_step_mse)},
          {"generation_seconds", r.generation_seconds}};
}

void write_rollout_frames(const std::filesystem::path& dir, const Rollout& r, const StatesData& truth,
                          std::size_t every) {
  METAEIK_CHECK(every >= 1, "frame interval must be at least 1");
  const std::size_t n = truth.nodes, fs = truth.frame_size(), vi = variable_index(truth, "V");
  const auto& g = truth.grid;
  METAEIK_CHECK(g.nz == 1, "side-by-side frames need a 2D grid");
  monodomain::Grid wide = g;
  wide.nx = 2 * g.nx + 2;
  std::filesystem::create_directories(dir / "frames");
  std::vector<std::pair<double, std::string>> single, side;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t k = 0; k < r.steps; k += every) {
    const std::size_t f = r.first_frame + k;
    const bool known = f < truth.frames;
    std::vector<double> pred(n), tru(n, nan), err(n, nan), both(wide.size(), nan);
    for (std::size_t c = 0; c < n; ++c) {
      pred[c] = r.predicted[k * fs + vi * n + c];
      if (known) tru[c] = truth.frame(f)[vi * n + c], err[c] = pred[c] - tru[c];
      const std::size_t i = c % g.nx, j = c / g.nx;
      both[i + wide.nx * j] = tru[c];
      both[g.nx + 2 + i + wide.nx * j] = pred[c];
    }
    std::ostringstream name;
    name << std::setw(6) << std::setfill('0') << f;
    const double t = f * truth.interval_ms;
    monodomain::write_vti(dir / "frames" / ("frame_" + name.str() + ".vti"), g,
                          {{"V_true", tru}, {"V_pred", pred}, {"V_error", err}});
    monodomain::write_vti(dir / "frames" / ("side_" + name.str() + ".vti"), wide, {{"V", both}});
    single.emplace_back(t, "frames/frame_" + name.str() + ".vti");
    side.emplace_back(t, "frames/side_" + name.str() + ".vti");
  }
  monodomain::write_pvd(dir / "rollout.pvd", single);
  monodomain::write_pvd(dir / "side_by_side.pvd", side);
}

void write_cell_traces(const std::filesystem::path& csv, const std::vector<const Rollout*>& rollouts,
                       const StatesData& truth, const std::vector<std::size_t>& cells) {
  METAEIK_CHECK(!rollouts.empty(), "no rollout to write");
  const std::size_t n = truth.nodes, fs = truth.frame_size();
  for (auto c : cells) METAEIK_CHECK(c < n, "cell " << c << " is outside the grid of " << n << " nodes");
  const Rollout& r0 = *rollouts.front();
  core::write_file_atomically(csv, [&](std::ostream& os) {
    os << "time_ms,frame,cell,i,j";
    for (const auto& v : truth.variables) {
      os << "," << v << "_true";
      for (const auto* r : rollouts) os << "," << v << "_" << r->model;
    }
    os << "\n" << std::setprecision(7);
    for (auto c : cells)
      for (std::size_t k = 0; k < r0.steps; ++k) {
        const std::size_t f = r0.first_frame + k;
        os << f * truth.interval_ms << "," << f << "," << c << "," << c % truth.grid.nx << ","
           << c / truth.grid.nx;
        for (std::size_t v = 0; v < truth.variables.size(); ++v) {
          os << ",";
          if (f < truth.frames) os << truth.frame(f)[v * n + c];
          for (const auto* r : rollouts) {
            os << ",";
            if (k < r->steps && r->first_frame == r0.first_frame) os << r->predicted[k * fs + v * n + c];
          }
        }
        os << "\n";
      }
  });
}

}  // namespace metaeik::surrogates::lstm
