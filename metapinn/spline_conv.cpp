#include "metapinn/spline_conv.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::metapinn {

SplineBasis spline_basis(const geometry::Graph& graph, int kernel_size, torch::Dtype dtype) {
  METAEIK_CHECK(kernel_size >= 2, "spline basis: kernel_size must be at least 2, got " << kernel_size);
  const int64_t E = graph.num_edges(), N = graph.num_nodes();
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  SplineBasis b;
  b.num_nodes = int(N);
  b.kernel_size = kernel_size;
  b.source = torch::empty({E}, i64);
  b.target = torch::empty({E}, i64);
  b.weight_index = torch::empty({E, 8}, i64);
  auto basis = torch::empty({E, 8}, torch::TensorOptions().dtype(torch::kFloat64));
  auto src = b.source.accessor<int64_t, 1>();
  auto dst = b.target.accessor<int64_t, 1>();
  auto wi = b.weight_index.accessor<int64_t, 2>();
  auto bv = basis.accessor<double, 2>();
  std::vector<double> degree(N, 0.0);
  for (int64_t e = 0; e < E; ++e) {
    src[e] = graph.edges(e, 0);
    dst[e] = graph.edges(e, 1);
    degree[dst[e]] += 1.0;
    // Open spline of degree 1: v = u·(K − 1); hat functions centred on the integers 0..K−1.
    int lo[3];
    double frac[3];
    for (int d = 0; d < 3; ++d) {
      const double v = std::clamp(graph.pseudo(e, d), 0.0, 1.0) * (kernel_size - 1);
      const double fl = std::floor(v);
      lo[d] = int(fl);
      frac[d] = v - fl;
    }
    for (int s = 0; s < 8; ++s) {
      double value = 1.0;
      int64_t index = 0, stride = 1;
      for (int d = 0; d < 3; ++d) {
        const int bit = (s >> d) & 1;
        value *= bit ? frac[d] : 1.0 - frac[d];
        index += int64_t((lo[d] + bit) % kernel_size) * stride;
        stride *= kernel_size;
      }
      wi[e][s] = index;
      bv[e][s] = value;
    }
  }
  b.basis = basis.to(dtype);
  auto inv = torch::zeros({N, 1}, torch::TensorOptions().dtype(torch::kFloat64));
  auto ia = inv.accessor<double, 2>();
  for (int64_t n = 0; n < N; ++n) ia[n][0] = degree[n] > 0 ? 1.0 / degree[n] : 0.0;
  b.inv_degree = inv.to(dtype);
  const int64_t K3 = int64_t(kernel_size) * kernel_size * kernel_size;
  auto rows = b.target.unsqueeze(1).expand({E, 8}).reshape({E * 8});
  auto cols = (b.source.unsqueeze(1) * K3 + b.weight_index).reshape({E * 8});
  auto vals = (basis * inv.index_select(0, b.target)).reshape({E * 8});
  b.aggregate = torch::sparse_coo_tensor(torch::stack({rows, cols}), vals, {N, N * K3}).coalesce().to(dtype);
  auto edges = torch::arange(E, torch::kInt64);
  b.gather = torch::sparse_coo_tensor(torch::stack({edges, b.source}), torch::ones({E}, torch::kFloat64), {E, N})
                 .coalesce()
                 .to(dtype);
  b.kernel = torch::sparse_coo_tensor(torch::stack({edges.unsqueeze(1).expand({E, 8}).reshape({E * 8}),
                                                    b.weight_index.reshape({E * 8})}),
                                      basis.reshape({E * 8}), {E, K3})
                 .coalesce()
                 .to(dtype);
  b.scatter = torch::sparse_coo_tensor(torch::stack({b.target, edges}), inv.index_select(0, b.target).view({E}),
                                       {N, E})
                  .coalesce()
                  .to(dtype);
  return b;
}

std::vector<GraphLevel> graph_levels(const geometry::GraphHierarchy& hierarchy, int kernel_size,
                                     torch::Dtype dtype) {
  std::vector<GraphLevel> levels(hierarchy.levels.size());
  for (std::size_t l = 0; l < levels.size(); ++l) {
    levels[l].basis = spline_basis(hierarchy.levels[l], kernel_size, dtype);
    if (l + 1 < levels.size()) {
      const Eigen::VectorXi& c = hierarchy.cluster[l];
      const int nc = hierarchy.levels[l + 1].num_nodes();
      levels[l].num_coarse = nc;
      levels[l].cluster = torch::empty({c.size()}, torch::kInt64);
      auto ca = levels[l].cluster.accessor<int64_t, 1>();
      std::vector<double> count(nc, 0.0);
      for (int n = 0; n < c.size(); ++n) {
        ca[n] = c[n];
        count[c[n]] += 1.0;
      }
      levels[l].cluster_count =
          torch::from_blob(count.data(), {nc, 1}, torch::kFloat64).clone().to(dtype);
      auto idx = torch::stack({levels[l].cluster, torch::arange(int64_t(c.size()), torch::kInt64)});
      auto val = 1.0 / levels[l].cluster_count.view({-1}).index_select(0, levels[l].cluster);
      levels[l].pooling = torch::sparse_coo_tensor(idx, val, {nc, int64_t(c.size())}).coalesce().to(dtype);
    }
  }
  return levels;
}

std::vector<GraphLevel> to(const std::vector<GraphLevel>& levels, torch::Device device, torch::Dtype dtype) {
  auto move = [&](const torch::Tensor& t) {
    if (!t.defined()) return t;
    return t.is_floating_point() ? t.to(device, dtype) : t.to(device);
  };
  std::vector<GraphLevel> out = levels;
  for (auto& l : out) {
    l.basis.source = move(l.basis.source);
    l.basis.target = move(l.basis.target);
    l.basis.weight_index = move(l.basis.weight_index);
    l.basis.basis = move(l.basis.basis);
    l.basis.inv_degree = move(l.basis.inv_degree);
    l.basis.aggregate = move(l.basis.aggregate);
    l.basis.gather = move(l.basis.gather);
    l.basis.kernel = move(l.basis.kernel);
    l.basis.scatter = move(l.basis.scatter);
    l.pooling = move(l.pooling);
    l.cluster = move(l.cluster);
    l.cluster_count = move(l.cluster_count);
  }
  return out;
}

namespace functional {

torch::Tensor spline_edge_weights(const SplineBasis& basis, const torch::Tensor& weight) {
  const int64_t K3 = weight.size(0), in = weight.size(1), out = weight.size(2);
  return torch::mm(basis.kernel, weight.reshape({K3, in * out})).view({basis.source.size(0), in, out});
}

torch::Tensor spline_conv(const torch::Tensor& x_in, const SplineBasis& basis, const torch::Tensor& weight,
                          const torch::Tensor& root, const torch::Tensor& bias, int path,
                          const torch::Tensor& edge_weights) {
  const bool batched = x_in.dim() == 3;
  TORCH_CHECK(x_in.dim() == 2 || batched, "spline_conv: x must be [N, in] or [B, N, in]");
  torch::Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t B = x.size(0), N = x.size(1), in = x.size(2);
  const int64_t K3 = weight.size(0), out = weight.size(2);
  const int64_t E = basis.source.size(0);
  TORCH_CHECK(N == basis.num_nodes, "spline_conv: x has ", N, " nodes, the graph ", basis.num_nodes);
  TORCH_CHECK(weight.dim() == 3 && weight.size(1) == in, "spline_conv: weight must be [K^3, ", in, ", out]");
  TORCH_CHECK(root.size(0) == in && root.size(1) == out, "spline_conv: root must be [in, out]");

  torch::Tensor agg;  // [B, N, out]
  if (path == 1) {
    // x W_k for every node and kernel, laid out [N·K³, B·out], then one sparse product.
    auto xw = x.permute({1, 0, 2}).reshape({N * B, in}).matmul(weight.permute({1, 0, 2}).reshape({in, K3 * out}));
    xw = xw.view({N, B, K3, out}).permute({0, 2, 1, 3}).reshape({N * K3, B * out});
    agg = torch::mm(basis.aggregate, xw).view({N, B, out}).permute({1, 0, 2});
  } else {
    // Per-edge interpolated weights W_e = Σ_s b_s W_{k_s} (sparse [E, K³] · [K³, in·out]),
    // messages x_j W_e (batched over edges), mean over each node's incoming edges.
    auto we = edge_weights.defined() ? edge_weights : spline_edge_weights(basis, weight);
    auto xj = torch::mm(basis.gather, x.permute({1, 0, 2}).reshape({N, B * in})).view({E, B, in});
    auto messages = torch::bmm(xj, we);  // [E, B, out]
    agg = torch::mm(basis.scatter, messages.reshape({E, B * out})).view({N, B, out}).permute({1, 0, 2});
  }
  auto y = agg + x.matmul(root);
  if (bias.defined()) y = y + bias;
  return batched ? y : y.squeeze(0);
}

torch::Tensor pool_mean(const torch::Tensor& x, const GraphLevel& level) {
  TORCH_CHECK(level.cluster.defined(), "pool_mean: the last level has no coarser level");
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  auto flat = x.permute({1, 0, 2}).reshape({N, B * C});
  return torch::mm(level.pooling, flat).view({int64_t(level.num_coarse), B, C}).permute({1, 0, 2});
}

}  // namespace functional

SplineConvImpl::SplineConvImpl(SplineConvOptions options_) : options(std::move(options_)) { reset(); }

void SplineConvImpl::reset() {
  const int64_t K3 = options.kernel_size() * options.kernel_size() * options.kernel_size();
  const int64_t in = options.in_channels(), out = options.out_channels();
  // A degree-1 B-spline basis sums to one over the 8 active kernels of an edge, so the effective
  // fan-in of both the neighbour and the root term is `in` (not in·K³ as in torch_geometric's
  // uniform(±1/sqrt(in·K³)), which shrinks the signal ~11× per layer through a deep encoder).
  // Uniform(±sqrt(3/in)) gives unit-variance weights per input channel.
  const double bound = std::sqrt(3.0 / double(in));
  weight = register_parameter("weight", torch::empty({K3, in, out}).uniform_(-bound, bound));
  root = register_parameter("root", torch::empty({in, out}).uniform_(-bound, bound));
  if (options.bias())
    bias = register_parameter("bias", torch::zeros({out}));
  else
    bias = torch::Tensor();
}

torch::Tensor SplineConvImpl::forward(const torch::Tensor& x, const SplineBasis& basis) {
  TORCH_CHECK(basis.kernel_size == options.kernel_size(), "SplineConv: basis kernel size ", basis.kernel_size,
              " does not match the layer's ", options.kernel_size());
  if (torch::GradMode::is_enabled()) return functional::spline_conv(x, basis, weight, root, bias);
  if (!cache_.graph.is_same(basis.source) || !cache_.weight.is_same(weight) ||
      cache_.version != int64_t(weight._version()))
    cache_ = {basis.source, weight, int64_t(weight._version()), functional::spline_edge_weights(basis, weight)};
  return functional::spline_conv(x, basis, weight, root, bias, 0, cache_.edge_weights);
}

}  // namespace metaeik::metapinn
