#include "metapinn/multi_pinn.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"
#include "metapinn/data.hpp"
#include "metapinn/model.hpp"

namespace metaeik::metapinn {

namespace {

std::vector<int64_t> layer_sizes(int width, int hidden_linear_layers) {
  std::vector<int64_t> s{3};
  for (int l = 0; l < hidden_linear_layers; ++l) s.push_back(width);
  s.push_back(1);
  return s;
}

/// Flat weights of `copies` freshly initialised networks (torch::nn::Linear's default: weights and
/// biases uniform in ±1/√fan_in), laid out as functional::mlp expects.
torch::Tensor init_flat(const std::vector<int64_t>& sizes, int64_t copies, torch::Generator& gen) {
  auto flat = torch::empty({copies, functional::mlp_parameter_count(sizes)}, torch::kFloat32);
  int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t fi = sizes[l], fo = sizes[l + 1];
    const double bound = 1.0 / std::sqrt(double(fi));
    flat.narrow(1, offset, fi * fo + fo).uniform_(-bound, bound, gen);
    offset += fi * fo + fo;
  }
  return flat;
}

Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.size(0));
}

}  // namespace

MultiPinnResult fit_multi_pinn(const geometry::Points& points, const geometry::Tets& tets,
                               const Eigen::VectorXi& observed,
                               const std::vector<Eigen::VectorXd>& observations, const MultiPinnOptions& o) {
  const int64_t N = points.rows(), M = int64_t(observations.size());
  METAEIK_CHECK(N > 0, "multi-PINN: the mesh has no nodes");
  METAEIK_CHECK(M > 0, "multi-PINN: no activation maps to fit");
  METAEIK_CHECK(observed.size() == N, "multi-PINN: the observation mask has "
                                          << observed.size() << " values, the mesh " << N << " nodes");
  for (const auto& obs : observations)
    METAEIK_CHECK(obs.size() == N,
                  "multi-PINN: a map has " << obs.size() << " values, the mesh " << N << " nodes");
  METAEIK_CHECK(o.iterations >= 1, "multi-PINN: iterations must be at least 1, got " << o.iterations);
  METAEIK_CHECK(o.lr > 0, "multi-PINN: lr must be positive, got " << o.lr);
  METAEIK_CHECK(o.v_min > 0 && o.v_max > o.v_min,
                "multi-PINN: need 0 < v_min < v_max, got " << o.v_min << ", " << o.v_max);
  METAEIK_CHECK(o.speed_scale > 0, "multi-PINN: speed_scale must be positive");
  METAEIK_CHECK(o.pde_nodes >= 0 && o.residual_points >= 0,
                "multi-PINN: pde_nodes and residual_points must be >= 0");
  if (o.threads > 0) set_threads(o.threads);
  core::Stopwatch watch;

  // Scaling of metapinn/data.hpp.
  const Eigen::RowVector3d lo = points.colwise().minCoeff(), hi = points.colwise().maxCoeff();
  const Eigen::RowVector3d centre = 0.5 * (lo + hi);
  const double L = std::max(0.5 * (hi - lo).norm(), 1e-12), tau = L / o.speed_scale;

  auto nodes = torch::empty({N, 3}, torch::kFloat32);
  {
    auto a = nodes.accessor<float, 2>();
    for (int64_t i = 0; i < N; ++i)
      for (int d = 0; d < 3; ++d) a[i][d] = float((points(i, d) - centre[d]) / L);
  }
  auto target = torch::zeros({M, N}, torch::kFloat32), mask = torch::zeros({M, N}, torch::kFloat32);
  {
    auto t = target.accessor<float, 2>();
    auto w = mask.accessor<float, 2>();
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < N; ++i)
        if (observed[i] && std::isfinite(observations[m][i])) {
          t[m][i] = float(observations[m][i] / tau);
          w[m][i] = 1.0f;
        }
  }
  const double observed_count = mask.sum().item<double>();
  METAEIK_CHECK(observed_count > 0, "multi-PINN: no observed node holds a finite activation time");
  std::vector<int64_t> obs_list;
  for (int64_t i = 0; i < N; ++i)
    if (observed[i]) obs_list.push_back(i);
  const int64_t n_obs = int64_t(obs_list.size());
  auto obs_index = torch::tensor(obs_list, torch::kLong);
  auto obs_nodes = nodes.index_select(0, obs_index);
  auto obs_target = target.index_select(1, obs_index), obs_mask = mask.index_select(1, obs_index);

  torch::Tensor tet_points;
  if (o.residual_points > 0 && tets.rows() > 0) {
    tet_points = torch::empty({tets.rows(), 4, 3}, torch::kFloat32);
    auto a = tet_points.accessor<float, 3>();
    auto n = nodes.accessor<float, 2>();
    for (int64_t t = 0; t < tets.rows(); ++t)
      for (int v = 0; v < 4; ++v)
        for (int d = 0; d < 3; ++d) a[t][v][d] = n[tets(t, v)][d];
  }

  auto gen = at::make_generator<at::CPUGeneratorImpl>(core::mix_seed(o.seed * 7919ULL + 17ULL));
  const auto pinn_sizes = layer_sizes(o.pinn_width, o.pinn_hidden_layers);
  const auto vel_sizes = layer_sizes(o.velocity_width, o.velocity_layers - 1);
  auto wt = init_flat(pinn_sizes, M, gen).requires_grad_(true);
  auto wv = init_flat(vel_sizes, 1, gen).squeeze(0).requires_grad_(true);
  torch::optim::Adam optimizer({wt, wv}, torch::optim::AdamOptions(o.lr));

  auto speed_of = [&](const torch::Tensor& x) {
    auto z = functional::mlp(x, wv, vel_sizes, functional::Activation::kRelu).squeeze(-1);
    return (o.v_min + (o.v_max - o.v_min) * torch::sigmoid(z)) / o.speed_scale;
  };

  MultiPinnResult result;
  for (int it = 0; it < o.iterations; ++it) {
    const double progress = o.iterations > 1 ? double(it) / double(o.iterations - 1) : 1.0;
    const double lr = o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * progress)));
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    const double alpha =
        o.alpha_ramp_iterations > 0 ? o.alpha * std::min(1.0, double(it) / o.alpha_ramp_iterations) : o.alpha;

    // Data term on the observed nodes only.
    auto Td = functional::mlp(obs_nodes.unsqueeze(0).expand({M, n_obs, 3}), wt, pinn_sizes,
                              functional::Activation::kTanh)
                  .squeeze(-1);  // [M, n_obs]
    auto data_loss = ((Td - obs_target).pow(2) * obs_mask).sum() / observed_count;
    torch::Tensor loss = data_loss, pde_loss;
    const bool pde = alpha > 0;
    if (pde) {  // PDE term on every node (or a random subset) plus random points inside tets
      torch::Tensor pts = nodes;
      if (o.pde_nodes > 0 && o.pde_nodes < N)
        pts = nodes.index_select(0, torch::randperm(N, gen, torch::kLong).narrow(0, 0, o.pde_nodes));
      if (tet_points.defined()) {
        auto idx = torch::randint(tet_points.size(0), {o.residual_points}, gen, torch::kLong);
        auto w =
            -torch::log(torch::rand({o.residual_points, 4}, gen).clamp_min(1e-12));  // uniform barycentric
        w = w / w.sum(1, true);
        pts = torch::cat({pts, (tet_points.index_select(0, idx) * w.unsqueeze(2)).sum(1)}, 0);
      }
      auto x = pts.unsqueeze(0).expand({M, pts.size(0), 3}).clone().requires_grad_(true);
      auto T = functional::mlp(x, wt, pinn_sizes, functional::Activation::kTanh).squeeze(-1);
      auto r = functional::eikonal_residual(T, x, speed_of(pts).unsqueeze(0), /*create_graph=*/true);
      pde_loss = r.pow(2).mean();
      loss = data_loss + alpha * pde_loss;
    }
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (it + 1 == o.iterations) {
      result.data_loss = data_loss.item<double>();
      result.pde_loss = pde ? pde_loss.item<double>() : NAN;
    }
  }

  // Final prediction and residual on the nodes.
  auto x = nodes.unsqueeze(0).expand({M, N, 3}).clone().requires_grad_(true);
  auto T = functional::mlp(x, wt.detach(), pinn_sizes, functional::Activation::kTanh).squeeze(-1);
  torch::Tensor v;
  {
    torch::NoGradGuard guard;
    v = speed_of(nodes).detach();
  }
  auto r = functional::eikonal_residual(T, x, v.unsqueeze(0), false);
  for (int64_t m = 0; m < M; ++m) {
    result.times.push_back(to_eigen(T[m]) * tau);
    result.residual.push_back(to_eigen(r[m]));
  }
  result.speed = to_eigen(v) * o.speed_scale;
  result.seconds = watch.seconds();
  return result;
}

}  // namespace metaeik::metapinn
