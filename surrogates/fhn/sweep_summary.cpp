// summary.md of a sweep directory: best/median/worst MAE per study beside the published numbers,
// medians by shape class and neuron count, ITNN rollout failures, and time ratios to Euler.

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "surrogates/fhn/sweep.hpp"

namespace metaeik::surrogates::fhn {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string sci(double v) {
  if (!std::isfinite(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.2e", v);
  return b;
}

std::string fix(double v, int digits = 2) {
  if (!std::isfinite(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

struct Published {
  double best, median;
};
const std::map<std::string, Published> kPublished{
    {"a", {3.3e-4, 1.13e-3}}, {"b", {2.8e-3, 8.8e-3}}, {"c", {3.4e-3, 8.0e-3}}};

struct EulerRow {
  std::string problem;
  double dt, seconds, mae;
  int samples;
};

std::vector<EulerRow> read_euler(const std::filesystem::path& p) {
  std::vector<EulerRow> out;
  std::ifstream in(p);
  std::string line;
  for (std::getline(in, line); std::getline(in, line);) {
    std::stringstream ss(line);
    std::string f[7];
    for (auto& x : f) std::getline(ss, x, ',');
    if (f[6].empty() && f[5].empty()) continue;
    out.push_back({f[0], std::stod(f[1]), std::stod(f[4]), std::stod(f[5]), std::stoi(f[2])});
  }
  return out;
}

int neuron_bin(int n) { return n <= 64 ? 0 : n <= 128 ? 1 : n <= 192 ? 2 : 3; }
const char* kBins[] = {"≤ 64", "65–128", "129–192", "193–256+"};

}  // namespace

void write_sweep_summary(const std::filesystem::path& dir) {
  const auto rows = read_results_csv(dir / "results.csv");
  const auto euler = read_euler(dir / "euler.csv");
  std::map<std::pair<std::string, std::string>, std::vector<const ResultRow*>> studies;
  for (const auto& r : rows) studies[{r.problem, r.kind}].push_back(&r);
  std::ostringstream md;
  md << "# FitzHugh–Nagumo surrogate sweep\n\n";
  md << "Validation MAE over u and w of every model (`results.csv`, " << rows.size() << " rows). "
     << "Published: the 800-architecture DDNN study (best / median).\n\n";
  md << "| problem | kind | models | best MAE | median MAE | worst MAE | best architecture | published best "
        "| "
        "published median | train s (sum) |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (auto& [key, list] : studies) {
    std::vector<double> mae;
    double train = 0;
    const ResultRow* best = nullptr;
    for (const auto* r : list) {
      mae.push_back(std::isfinite(r->val_mae) ? r->val_mae : INFINITY);
      train += r->train_seconds;
      if (!best || r->val_mae < best->val_mae) best = r;
    }
    const auto pub = key.second == "ddnn" ? kPublished.find(key.first) : kPublished.end();
    md << "| " << key.first << " | " << key.second << " | " << list.size() << " | "
       << sci(*std::min_element(mae.begin(), mae.end())) << " | " << sci(median(mae)) << " | "
       << sci(*std::max_element(mae.begin(), mae.end())) << " | " << best->architecture << " | "
       << (pub != kPublished.end() ? sci(pub->second.best) : "") << " | "
       << (pub != kPublished.end() ? sci(pub->second.median) : "") << " | " << fix(train, 0) << " |\n";
  }
  md << "\n## Median validation MAE by shape class and neuron count\n\n";
  const std::vector<std::string> classes{"rectangle", "funnel", "bottleneck", "diamond", "bowtie"};
  for (auto& [key, list] : studies) {
    md << "### problem " << key.first << ", " << key.second << "\n\n| class | models | best | median | "
       << kBins[0] << " | " << kBins[1] << " | " << kBins[2] << " | " << kBins[3]
       << " |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& cls : classes) {
      std::vector<double> all, bins[4];
      for (const auto* r : list)
        if (r->shape == cls) all.push_back(r->val_mae), bins[neuron_bin(r->neurons)].push_back(r->val_mae);
      if (all.empty()) continue;
      md << "| " << cls << " | " << all.size() << " | " << sci(*std::min_element(all.begin(), all.end()))
         << " | " << sci(median(all));
      for (auto& b : bins)
        md << " | " << (b.empty() ? "–" : sci(median(b)) + " (" + std::to_string(b.size()) + ")");
      md << " |\n";
    }
    md << "\n";
  }
  // ITNN rollouts.
  std::ifstream itnn(dir / "itnn.csv");
  std::string line;
  std::map<std::string, std::array<long, 3>> roll;
  for (std::getline(itnn, line); std::getline(itnn, line);) {
    std::stringstream ss(line);
    std::string f[5];
    for (auto& x : f) std::getline(ss, x, ',');
    if (f[4].empty()) continue;
    auto& t = roll[f[1]];
    t[0] += std::stol(f[2]), t[1] += std::stol(f[3]), t[2] += std::stol(f[4]);
  }
  if (!roll.empty()) {
    md << "## ITNN rollouts (validation trajectories, 1-ms steps)\n\n| problem | rollouts | diverged | false "
          "equilibria |\n|---|---|---|---|\n";
    for (auto& [p, t] : roll) md << "| " << p << " | " << t[0] << " | " << t[1] << " | " << t[2] << " |\n";
    md << "\nDiverged: max error > 0.1 without settling; false equilibrium: the last steps move < 1e-3 while "
          "the end state is > 0.05 from the truth.\n\n";
  }
  if (!euler.empty()) {
    md << "## Inference time against the vectorised Euler solver\n\nSame samples (Latin-hypercube starts) "
          "over "
          "50 ms with outputs every 1 ms, same threads (`euler.csv`; error against Euler at Δt 0.01).\n\n"
          "| problem | Euler Δt | samples | seconds | MAE vs Δt 0.01 |\n|---|---|---|---|---|\n";
    for (const auto& e : euler)
      md << "| " << e.problem << " | " << e.dt << " | " << e.samples << " | " << sci(e.seconds) << " | "
         << sci(e.mae) << " |\n";
    md << "\n| problem | kind | Euler Δt 0.1 s | fastest model s | median model s | best-MAE model s | "
          "best-MAE model / Euler 0.1 | models faster than Euler 0.1 |\n|---|---|---|---|---|---|---|---|\n";
    for (auto& [key, list] : studies) {
      double e01 = NAN;
      for (const auto& e : euler)
        if (e.problem == key.first && std::abs(e.dt - 0.1) < 1e-12) e01 = e.seconds;
      std::vector<double> t;
      const ResultRow* best = nullptr;
      int faster = 0;
      for (const auto* r : list) {
        t.push_back(r->inference_seconds);
        if (!best || r->val_mae < best->val_mae) best = r;
        faster += r->inference_seconds < e01;
      }
      md << "| " << key.first << " | " << key.second << " | " << sci(e01) << " | "
         << sci(*std::min_element(t.begin(), t.end())) << " | " << sci(median(t)) << " | "
         << sci(best->inference_seconds) << " | " << fix(best->inference_seconds / e01) << " | " << faster
         << " of " << list.size() << " |\n";
    }
    md << "\n";
  }
  core::write_file_atomically(dir / "summary.md", [&](std::ostream& os) { os << md.str(); });
}

}  // namespace metaeik::surrogates::fhn
