// Figures of an FHN sweep directory: MAE by shape class and neuron count (one per study, the
// published Fig. 2) and validation error against inference time with the Euler line (Fig. 3).

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/charts/charts.hpp"
#include "surrogates/fhn/sweep.hpp"

namespace metaeik::tools {

using core::BarSeries, core::LinePanel, core::LineSeries, core::ScatterSeries, core::write_bar_chart,
    core::write_line_chart, core::write_line_chart_grid, core::write_scatter_chart;

void write_fhn_figures(const std::filesystem::path& dir) {
  namespace fhn = surrogates::fhn;
  const auto rows = fhn::read_results_csv(dir / "results.csv");
  if (rows.empty()) return;
  std::map<std::pair<std::string, std::string>, std::vector<const fhn::ResultRow*>> studies;
  for (const auto& r : rows) studies[{r.problem, r.kind}].push_back(&r);
  const std::vector<std::string> classes{"rectangle", "funnel", "bottleneck", "diamond", "bowtie"};
  const std::vector<std::string> bins{"<= 64 neurons", "65-128", "129-192", "193-256"};
  auto bin = [](int n) { return n <= 64 ? 0 : n <= 128 ? 1 : n <= 192 ? 2 : 3; };
  auto median = [](std::vector<double> v) -> double {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  for (const auto& [key, list] : studies) {
    std::vector<BarSeries> series;
    for (std::size_t b = 0; b < bins.size(); ++b) {
      BarSeries s{bins[b], {}, {}};
      for (const auto& cls : classes) {
        std::vector<double> v;
        for (const auto* r : list)
          if (r->shape == cls && bin(r->neurons) == int(b) && std::isfinite(r->val_mae))
            v.push_back(r->val_mae * 1e3);
        s.values.push_back(median(v));
      }
      series.push_back(s);
    }
    write_bar_chart(dir / ("fig2_mae_by_class_" + key.first + "_" + key.second + ".png"),
                    key.first + "/" + key.second + ": median val MAE by class and size",
                    "median val MAE (x 1e-3)", classes, series);
  }
  std::vector<ScatterSeries> scatter;
  for (const auto& [key, list] : studies) {
    ScatterSeries s{key.first + "/" + key.second, {}, {}, false};
    for (const auto* r : list) s.x.push_back(r->inference_seconds), s.y.push_back(r->val_mae);
    scatter.push_back(s);
  }
  std::ifstream in(dir / "euler.csv");
  std::string line;
  std::map<std::string, ScatterSeries> euler;
  int samples = 0;
  for (std::getline(in, line); std::getline(in, line);) {
    std::stringstream ss(line);
    std::string f[7];
    for (auto& x : f) std::getline(ss, x, ',');
    if (f[5].empty()) continue;
    samples = std::stoi(f[2]);
    auto& e = euler[f[0]];
    e.name = "Euler " + f[0] + " (dt 0.5..0.02)";
    e.line = true;
    e.x.push_back(std::stod(f[4]));
    e.y.push_back(std::stod(f[5]));
  }
  for (auto& [p, e] : euler) scatter.push_back(e);
  write_scatter_chart(dir / "fig3_error_vs_time.png",
                      "Error vs time (" + std::to_string(samples) + " samples x 50 ms)", "seconds (log10)",
                      "MAE (log10)", scatter, true, true);
}

}  // namespace metaeik::tools
