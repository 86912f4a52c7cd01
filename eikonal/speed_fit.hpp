#pragma once
// Physics-based personalisation baseline (docs/DESIGN.md, metapinn → Baselines): fit piecewise-constant
// conduction speeds, one per region (e.g. AHA segment group), so that FIM activation times match
// the observed ones, with BOBYQA (NLopt) as the derivative-free optimiser.

#include <Eigen/Core>
#include <vector>

#include "eikonal/fim.hpp"

namespace metaeik::eikonal {

struct SpeedFitOptions {
  double lower = 0.01;        ///< lower bound of every region speed, mm/ms
  double upper = 1.0;         ///< upper bound, mm/ms
  double start = 0.35;        ///< initial speed of every region, mm/ms
  int max_evaluations = 500;  ///< FIM solves allowed
  double xtol_rel = 1e-4;     ///< BOBYQA relative tolerance on the speeds
};

struct SpeedFitResult {
  Eigen::VectorXd region_speeds;  ///< #regions fitted speeds, mm/ms
  Eigen::VectorXd node_speed;     ///< #P speed field made of them
  Eigen::VectorXd times;          ///< #P activation times of the fitted model, ms
  double rmse = 0.0;              ///< RMSE at the observed nodes, ms
  int evaluations = 0;            ///< FIM solves used
  double seconds = 0.0;           ///< wall time of the fit
};

/// The reference code's segment groups: {1,2,7,8}, {5,6,11,12}, {3,4,9,10}, {13..17}, {18 = RV}.
/// Returns the region index of every node (0..4) from its `aha` label; nodes with label 0 get
/// region 5 ("other"), which is then a sixth free speed if any node has it.
Eigen::VectorXi aha_group_regions(const Eigen::VectorXi& aha);

/// One region per segment: AHA segments 1–17 and the RV (18) give regions 0–17; nodes with label 0
/// get region 18 ("other"). The physics-based baseline that is not handed the scar layout.
Eigen::VectorXi aha_segment_regions(const Eigen::VectorXi& aha);

/// Fits one speed per region. @param region #P region index per node, 0..R−1.
/// @param observed #P activation times (ms), used where mask != 0.
SpeedFitResult fit_region_speeds(const FimSolver& solver, const Eigen::VectorXi& region,
                                 const std::vector<Source>& sources, const Eigen::VectorXd& observed,
                                 const Eigen::VectorXi& mask, const SpeedFitOptions& options = {});

}  // namespace metaeik::eikonal
