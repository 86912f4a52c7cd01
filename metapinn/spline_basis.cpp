#include "metapinn/spline_basis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

#include "core/error.hpp"

namespace metaeik::metapinn {

namespace {
/// Edges grouped by node: (offsets [N+1], edge ids [E]) with node(edge) = `node`, stable order.
std::pair<torch::Tensor, torch::Tensor> csr(const torch::Tensor& node, int64_t N) {
  const int64_t E = node.size(0);
  auto offsets = torch::zeros({N + 1}, torch::kInt64), order = torch::empty({E}, torch::kInt64);
  auto n = node.accessor<int64_t, 1>();
  auto o = offsets.accessor<int64_t, 1>();
  auto e_of = order.accessor<int64_t, 1>();
  for (int64_t e = 0; e < E; ++e) ++o[n[e] + 1];
  for (int64_t i = 0; i < N; ++i) o[i + 1] += o[i];
  std::vector<int64_t> next(o.data(), o.data() + N);
  for (int64_t e = 0; e < E; ++e) e_of[next[n[e]]++] = e;
  return {offsets, order};
}
}  // namespace

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
  b.kernel =
      torch::sparse_coo_tensor(
          torch::stack({edges.unsqueeze(1).expand({E, 8}).reshape({E * 8}), b.weight_index.reshape({E * 8})}),
          basis.reshape({E * 8}), {E, K3})
          .coalesce()
          .to(dtype);
  std::tie(b.in_offsets, b.in_edges) = csr(b.target, N);
  std::tie(b.out_offsets, b.out_edges) = csr(b.source, N);
  std::tie(b.kernel_offsets, b.kernel_entries) = csr(b.weight_index.reshape({E * 8}), K3);
  b.cell_edges = csr(b.weight_index.select(1, 0).contiguous(), K3).second;
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
      levels[l].cluster_count = torch::from_blob(count.data(), {nc, 1}, torch::kFloat64).clone().to(dtype);
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
    l.basis.kernel = move(l.basis.kernel);
    for (auto* t : {&l.basis.in_offsets, &l.basis.in_edges, &l.basis.out_offsets, &l.basis.out_edges,
                    &l.basis.kernel_offsets, &l.basis.kernel_entries, &l.basis.cell_edges})
      *t = move(*t);
    l.pooling = move(l.pooling);
    l.cluster = move(l.cluster);
    l.cluster_count = move(l.cluster_count);
  }
  return out;
}

}  // namespace metaeik::metapinn
