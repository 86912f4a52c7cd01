#pragma once
// Multi-PINN baseline (docs/DESIGN.md, metapinn → Baselines; paper §4.1): for one subject, one PINN
// T_j(x) per activation map plus one velocity-net F(x) shared by all of the subject's maps, all
// ordinary trainable parameters optimised from scratch with Adam on
//   L = mean over maps and observed nodes of (T_j(x) − t_j)² + α·mean over residual points of
//       (|∇ₓT_j(x)|·F(x) − 1)²,
// residual points = every node (or `pde_nodes` random nodes per step) plus optional random points
// inside tets,
// in the scaled units of metapinn/data.hpp (x' = (x − centre)/L, t' = t/τ, v' = v/speed_scale,
// L = bounding-box half-diagonal, τ = L/speed_scale). Networks have the meta-PINN's shapes:
// T 6 × 20 tanh, F 8 linear layers of width 20 with ReLU, squashed into [v_min, v_max].

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::metapinn {

struct MultiPinnOptions {
  int iterations = 2000;            ///< Adam steps
  double lr = 3e-3;                 ///< Adam learning rate (cosine-annealed to lr·min_lr_ratio)
  double min_lr_ratio = 0.05;       ///< final learning rate / lr
  double alpha = 1.0;               ///< weight of the PDE loss
  int alpha_ramp_iterations = 200;  ///< α rises linearly from 0 over these steps (0 = constant)
  int pde_nodes = 0;                ///< random nodes per step for the PDE loss (0 = every node)
  int residual_points = 0;          ///< extra random points inside tets per step for the PDE loss
  int pinn_width = 20;              ///< neurons per hidden layer of each T_j
  int pinn_hidden_layers = 6;       ///< tanh hidden layers of each T_j
  int velocity_width = 20;          ///< neurons per hidden layer of F
  int velocity_layers = 8;          ///< linear layers of F (ReLU between)
  double v_min = 0.1;               ///< lower bound of F, mm/ms
  double v_max = 0.6;               ///< upper bound of F, mm/ms
  double speed_scale = 0.6;         ///< v' = v / speed_scale, mm/ms
  std::uint64_t seed = 0;           ///< initialisation and residual points
  int threads = 0;                  ///< torch intra-op threads (0 = leave as is)
};

struct MultiPinnResult {
  std::vector<Eigen::VectorXd> times;     ///< per map: #P predicted activation times, ms
  Eigen::VectorXd speed;                  ///< #P predicted conduction velocity, mm/ms
  std::vector<Eigen::VectorXd> residual;  ///< per map: #P |∇T|·F − 1 at the nodes
  double data_loss = 0.0;                 ///< final data loss (scaled units)
  double pde_loss = 0.0;                  ///< final PDE loss (scaled units)
  double seconds = 0.0;                   ///< wall time of the whole fit
};

/// Fits one subject. @param observations per map #P activation times (ms), used where observed != 0
/// (non-finite values are ignored). All maps share the mesh (points #P×3 mm, tets #T×4).
MultiPinnResult fit_multi_pinn(const geometry::Points& points, const geometry::Tets& tets,
                               const Eigen::VectorXi& observed,
                               const std::vector<Eigen::VectorXd>& observations,
                               const MultiPinnOptions& options = {});

}  // namespace metaeik::metapinn
