#include "eikonal/speed_fit.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <nlopt.hpp>

#include "core/error.hpp"
#include "core/timer.hpp"

namespace metaeik::eikonal {

Eigen::VectorXi aha_group_regions(const Eigen::VectorXi& aha) {
  Eigen::VectorXi region(aha.size());
  for (Eigen::Index i = 0; i < aha.size(); ++i) {
    switch (aha[i]) {
      case 1:
      case 2:
      case 7:
      case 8:
        region[i] = 0;
        break;
      case 5:
      case 6:
      case 11:
      case 12:
        region[i] = 1;
        break;
      case 3:
      case 4:
      case 9:
      case 10:
        region[i] = 2;
        break;
      case 13:
      case 14:
      case 15:
      case 16:
      case 17:
        region[i] = 3;
        break;
      case 18:
        region[i] = 4;
        break;
      default:
        region[i] = 5;
        break;
    }
  }
  return region;
}

Eigen::VectorXi aha_segment_regions(const Eigen::VectorXi& aha) {
  Eigen::VectorXi region(aha.size());
  for (Eigen::Index i = 0; i < aha.size(); ++i) {
    METAEIK_CHECK(aha[i] >= 0 && aha[i] <= 18, "aha label " << aha[i] << " of node " << i << " is not 0-18");
    region[i] = aha[i] == 0 ? 18 : aha[i] - 1;
  }
  return region;
}

namespace {

struct Objective {
  const FimSolver* solver;
  const Eigen::VectorXi* region;
  const std::vector<Source>* sources;
  const Eigen::VectorXd* observed;
  std::vector<int> observed_nodes;
  SpeedField field;
  int evaluations = 0;
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> best_x;

  double operator()(const std::vector<double>& x) {
    for (Eigen::Index i = 0; i < region->size(); ++i) field.speed[i] = x[(*region)[i]];
    const SolveResult r = solver->solve(field, *sources);
    ++evaluations;
    double sse = 0.0;
    for (int n : observed_nodes) {
      const double d = r.times[n] - (*observed)[n];
      sse += d * d;
    }
    const double mse = sse / double(observed_nodes.size());
    if (mse < best) {
      best = mse;
      best_x = x;
    }
    return mse;
  }
};

}  // namespace

SpeedFitResult fit_region_speeds(const FimSolver& solver, const Eigen::VectorXi& region,
                                 const std::vector<Source>& sources, const Eigen::VectorXd& observed,
                                 const Eigen::VectorXi& mask, const SpeedFitOptions& options) {
  const Eigen::Index n = region.size();
  METAEIK_CHECK(observed.size() == n && mask.size() == n,
                "speed fit: region, observed and mask must all have " << n << " entries");
  METAEIK_CHECK(region.minCoeff() >= 0, "speed fit: region indices must be non-negative");
  METAEIK_CHECK(options.lower > 0 && options.lower < options.upper && options.start >= options.lower &&
                    options.start <= options.upper,
                "speed fit: need 0 < lower <= start <= upper, got " << options.lower << ", " << options.start
                                                                    << ", " << options.upper);
  METAEIK_CHECK(options.max_evaluations > 0, "speed fit: max_evaluations must be positive");
  const int regions = region.maxCoeff() + 1;

  core::Stopwatch clock;
  Objective obj{&solver, &region, &sources, &observed, {}, {}, 0, std::numeric_limits<double>::infinity(),
                {}};
  for (Eigen::Index i = 0; i < n; ++i)
    if (mask[i] != 0) obj.observed_nodes.push_back(int(i));
  METAEIK_CHECK(!obj.observed_nodes.empty(), "speed fit: no observed nodes");
  obj.field.location = SpeedField::Location::kNode;
  obj.field.speed.resize(n);

  std::vector<double> x(regions, options.start);
  // BOBYQA needs at least two variables; a one-region fit falls back to COBYLA.
  nlopt::opt opt(regions > 1 ? nlopt::LN_BOBYQA : nlopt::LN_COBYLA, unsigned(regions));
  opt.set_lower_bounds(options.lower);
  opt.set_upper_bounds(options.upper);
  opt.set_min_objective([](const std::vector<double>& v, std::vector<double>&,
                           void* data) { return (*static_cast<Objective*>(data))(v); },
                        &obj);
  opt.set_maxeval(options.max_evaluations);
  opt.set_xtol_rel(options.xtol_rel);
  // Initial trust-region radius: a quarter of the box, so the first steps probe the range.
  opt.set_initial_step(0.25 * (options.upper - options.lower));
  double f = 0;
  try {
    opt.optimize(x, f);
  } catch (const std::exception& e) {
    spdlog::debug("speed fit stopped early: {}", e.what());  // roundoff-limited etc.: keep the best point
  }

  SpeedFitResult result;
  result.region_speeds = Eigen::Map<const Eigen::VectorXd>(obj.best_x.data(), regions);
  result.node_speed.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) result.node_speed[i] = result.region_speeds[region[i]];
  SpeedField field{SpeedField::Location::kNode, result.node_speed, {}, 1.0};
  result.times = solver.solve(field, sources).times;
  result.rmse = std::sqrt(obj.best);
  result.evaluations = obj.evaluations;
  result.seconds = clock.seconds();
  return result;
}

}  // namespace metaeik::eikonal
