#include "metapinn/spline_conv.hpp"

#include <cmath>
#include <cstdint>
#include <utility>

#include "metapinn/spline_kernels.hpp"

namespace metaeik::metapinn {

namespace functional {

namespace {

detail::EdgeArrays arrays(const SplineBasis& b) {
  auto p = [](const torch::Tensor& t) { return t.defined() ? t.data_ptr<int64_t>() : nullptr; };
  detail::EdgeArrays a;
  a.num_nodes = b.num_nodes;
  a.num_edges = b.source.defined() ? b.source.size(0) : 0;
  a.source = p(b.source);
  a.target = p(b.target);
  a.in_offsets = p(b.in_offsets);
  a.in_edges = p(b.in_edges);
  a.out_offsets = p(b.out_offsets);
  a.out_edges = p(b.out_edges);
  a.weight_index = p(b.weight_index);
  a.kernel_offsets = p(b.kernel_offsets);
  a.kernel_entries = p(b.kernel_entries);
  a.cell_edges = p(b.cell_edges);
  return a;
}

struct EdgeMessages : torch::autograd::Function<EdgeMessages> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& we_in, const SplineBasis* basis) {
    auto x = x_in.contiguous(), we = we_in.contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = we.size(2);
    auto y = torch::zeros({B, x.size(1), out}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "edge_messages", [&] {
      detail::messages_forward(x.data_ptr<scalar_t>(), we.data_ptr<scalar_t>(), arrays(*basis),
                               basis->inv_degree.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), B, in, out);
    });
    ctx->save_for_backward({x, we});
    // The graph's index tensors (shared, not copied), so the backward does not rely on `basis`.
    ctx->saved_data["source"] = basis->source;
    ctx->saved_data["target"] = basis->target;
    ctx->saved_data["inv_degree"] = basis->inv_degree;
    ctx->saved_data["out_offsets"] = basis->out_offsets;
    ctx->saved_data["out_edges"] = basis->out_edges;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& we = saved[1];
    SplineBasis basis;
    basis.num_nodes = int(x.size(1));
    basis.source = ctx->saved_data["source"].toTensor();
    basis.target = ctx->saved_data["target"].toTensor();
    basis.inv_degree = ctx->saved_data["inv_degree"].toTensor();
    basis.out_offsets = ctx->saved_data["out_offsets"].toTensor();
    basis.out_edges = ctx->saved_data["out_edges"].toTensor();
    auto g = grads[0].contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = we.size(2);
    torch::Tensor gx, gwe;
    if (ctx->needs_input_grad(0)) gx = torch::zeros_like(x);
    if (ctx->needs_input_grad(1)) gwe = torch::zeros_like(we);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "edge_messages_backward", [&] {
      const scalar_t* inv = basis.inv_degree.data_ptr<scalar_t>();
      if (gx.defined())
        detail::messages_grad_x(g.data_ptr<scalar_t>(), we.data_ptr<scalar_t>(), arrays(basis), inv,
                                gx.data_ptr<scalar_t>(), B, in, out);
      if (gwe.defined())
        detail::messages_grad_weights(x.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), arrays(basis), inv,
                                      gwe.data_ptr<scalar_t>(), B, in, out);
    });
    return {gx, gwe, torch::Tensor()};
  }
};

// W_e = Σ_s b_s W_{k_s}; backward: gW_k = Σ over the entries (e, s) of kernel k of b_s gW_e.
// Threads own edges (forward) or kernels (backward), so results do not depend on their number.
struct EdgeWeights : torch::autograd::Function<EdgeWeights> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight_in,
                               const SplineBasis* basis) {
    auto weight = weight_in.contiguous();
    const int64_t E = basis->source.size(0), n = weight.size(1) * weight.size(2);
    auto we = torch::zeros({E, weight.size(1), weight.size(2)}, weight.options());
    AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "edge_weights", [&] {
      detail::edge_weights_forward(weight.data_ptr<scalar_t>(), basis->basis.data_ptr<scalar_t>(),
                                   arrays(*basis), we.data_ptr<scalar_t>(), n);
    });
    ctx->saved_data["basis"] = basis->basis;
    ctx->saved_data["kernel_offsets"] = basis->kernel_offsets;
    ctx->saved_data["kernel_entries"] = basis->kernel_entries;
    ctx->saved_data["shape"] = weight.sizes();
    return we;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = grads[0].contiguous();
    const auto b = ctx->saved_data["basis"].toTensor();
    auto gW = torch::zeros(ctx->saved_data["shape"].toIntVector(), g.options());
    const int64_t K3 = gW.size(0), n = gW.size(1) * gW.size(2);
    SplineBasis graph;  // only the entries by kernel
    graph.kernel_offsets = ctx->saved_data["kernel_offsets"].toTensor();
    graph.kernel_entries = ctx->saved_data["kernel_entries"].toTensor();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "edge_weights_backward", [&] {
      detail::edge_weights_backward(g.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), arrays(graph),
                                    gW.data_ptr<scalar_t>(), K3, n);
    });
    return {gW, torch::Tensor()};
  }
};

// Messages with W_e formed on the fly (detail::fused_forward, fused_grad_x, fused_grad_weight).
struct FusedMessages : torch::autograd::Function<FusedMessages> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in, const SplineBasis* basis) {
    auto x = x_in.contiguous(), weight = weight_in.contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = weight.size(2);
    auto y = torch::zeros({B, x.size(1), out}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_fused", [&] {
      detail::fused_forward(x.data_ptr<scalar_t>(), weight.data_ptr<scalar_t>(),
                            basis->basis.data_ptr<scalar_t>(), arrays(*basis),
                            basis->inv_degree.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), B, in, out);
    });
    ctx->save_for_backward({x, weight});
    // The graph's tensors (shared, not copied), so the backward does not rely on `basis`.
    for (const auto& [key, t] : {std::pair<const char*, const torch::Tensor*>{"source", &basis->source},
                                 {"target", &basis->target},
                                 {"weight_index", &basis->weight_index},
                                 {"basis", &basis->basis},
                                 {"inv_degree", &basis->inv_degree},
                                 {"cell_edges", &basis->cell_edges}})
      ctx->saved_data[key] = *t;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    SplineBasis basis;
    basis.num_nodes = int(x.size(1));
    basis.source = ctx->saved_data["source"].toTensor();
    basis.target = ctx->saved_data["target"].toTensor();
    basis.weight_index = ctx->saved_data["weight_index"].toTensor();
    basis.basis = ctx->saved_data["basis"].toTensor();
    basis.inv_degree = ctx->saved_data["inv_degree"].toTensor();
    basis.cell_edges = ctx->saved_data["cell_edges"].toTensor();
    auto g = grads[0].contiguous();
    const int64_t B = x.size(0), in = x.size(2), out = weight.size(2);
    torch::Tensor gx, gW;
    if (ctx->needs_input_grad(0)) gx = torch::zeros_like(x);
    if (ctx->needs_input_grad(1)) gW = torch::zeros_like(weight);
    const auto gs = g * basis.inv_degree;  // the output gradient scaled by 1/|N(i)|
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_fused_backward", [&] {
      const auto edges = arrays(basis);
      const scalar_t* b = basis.basis.data_ptr<scalar_t>();
      if (gx.defined()) {
        const auto Wt = weight.transpose(1, 2).contiguous();
        detail::fused_grad_x(gs.data_ptr<scalar_t>(), Wt.data_ptr<scalar_t>(), b, edges,
                             gx.data_ptr<scalar_t>(), B, in, out);
      }
      if (gW.defined())
        detail::fused_grad_weight(x.data_ptr<scalar_t>(), gs.data_ptr<scalar_t>(), b, edges,
                                  gW.data_ptr<scalar_t>(), B, in, out);
    });
    return {gx, gW, torch::Tensor()};
  }
};

}  // namespace

bool half_edge_weights_available() { return detail::half_weights_available(); }

torch::Tensor edge_messages(const torch::Tensor& x, const SplineBasis& basis,
                            const torch::Tensor& edge_weights) {
  TORCH_CHECK(x.device().is_cpu() && edge_weights.device().is_cpu(), "edge_messages: CPU tensors only");
  TORCH_CHECK(x.dim() == 3 && x.size(1) == basis.num_nodes && edge_weights.dim() == 3 &&
                  edge_weights.size(0) == basis.source.size(0) && edge_weights.size(1) == x.size(2),
              "edge_messages: need x [B, N, in] and edge weights [E, in, out] of the graph");
  TORCH_CHECK(x.scalar_type() == basis.inv_degree.scalar_type(),
              "edge_messages: x and the graph must have one type");
  RECORD_FUNCTION("metaeik::edge_messages", std::vector<c10::IValue>({x, edge_weights}));
  if (edge_weights.scalar_type() == torch::kHalf) {
    TORCH_CHECK(half_edge_weights_available() && x.scalar_type() == torch::kFloat32,
                "edge_messages: half-precision edge weights need single-precision features");
    TORCH_CHECK(!torch::GradMode::is_enabled() || !x.requires_grad(),
                "edge_messages: half-precision edge weights are for inference (no gradients)");
    auto xc = x.contiguous(), we = edge_weights.contiguous();
    auto y = torch::zeros({xc.size(0), xc.size(1), we.size(2)}, xc.options());
    detail::messages_forward(xc.data_ptr<float>(), reinterpret_cast<const uint16_t*>(we.data_ptr<at::Half>()),
                             arrays(basis), basis.inv_degree.data_ptr<float>(), y.data_ptr<float>(),
                             xc.size(0), xc.size(2), we.size(2));
    return y;
  }
  TORCH_CHECK(x.scalar_type() == edge_weights.scalar_type(),
              "edge_messages: x and the edge weights must have one type");
  return EdgeMessages::apply(x, edge_weights, &basis);
}

torch::Tensor spline_edge_weights(const SplineBasis& basis, const torch::Tensor& weight) {
  const int64_t K3 = weight.size(0), in = weight.size(1), out = weight.size(2);
  TORCH_CHECK(K3 == int64_t(basis.kernel_size) * basis.kernel_size * basis.kernel_size,
              "spline_edge_weights: weight has ", K3, " kernels, the basis ", basis.kernel_size, "^3");
  if (weight.is_cpu() && basis.basis.is_cpu() && weight.scalar_type() == basis.basis.scalar_type())
    return EdgeWeights::apply(weight, &basis);
  return torch::mm(basis.kernel, weight.reshape({K3, in * out})).view({basis.source.size(0), in, out});
}

torch::Tensor spline_conv(const torch::Tensor& x_in, const SplineBasis& basis, const torch::Tensor& weight,
                          const torch::Tensor& root, const torch::Tensor& bias, SplinePath path,
                          const torch::Tensor& edge_weights) {
  const bool batched = x_in.dim() == 3;
  TORCH_CHECK(x_in.dim() == 2 || batched, "spline_conv: x must be [N, in] or [B, N, in]");
  torch::Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t B = x.size(0), N = x.size(1), in = x.size(2);
  const int64_t K3 = weight.size(0), out = weight.size(2);
  TORCH_CHECK(N == basis.num_nodes, "spline_conv: x has ", N, " nodes, the graph ", basis.num_nodes);
  TORCH_CHECK(weight.dim() == 3 && weight.size(1) == in, "spline_conv: weight must be [K^3, ", in, ", out]");
  TORCH_CHECK(root.size(0) == in && root.size(1) == out, "spline_conv: root must be [in, out]");

  torch::Tensor agg;  // [B, N, out]
  if (path == SplinePath::kAggregate) {
    // x W_k for every node and kernel, laid out [N·K³, B·out], then one sparse product.
    auto xw =
        x.permute({1, 0, 2}).reshape({N * B, in}).matmul(weight.permute({1, 0, 2}).reshape({in, K3 * out}));
    xw = xw.view({N, B, K3, out}).permute({0, 2, 1, 3}).reshape({N * K3, B * out});
    agg = torch::mm(basis.aggregate, xw).view({N, B, out}).permute({1, 0, 2});
  } else if (path == SplinePath::kFused && !edge_weights.defined() && x.is_cpu() && weight.is_cpu() &&
             x.scalar_type() == weight.scalar_type() && x.scalar_type() == basis.basis.scalar_type()) {
    RECORD_FUNCTION("metaeik::spline_fused", std::vector<c10::IValue>({x, weight}));
    agg = FusedMessages::apply(x, weight, &basis);
  } else {
    auto we = edge_weights.defined() ? edge_weights : spline_edge_weights(basis, weight);
    if ((path == SplinePath::kEdgeMessages || path == SplinePath::kFused) && x.device().is_cpu()) {
      agg = edge_messages(x, basis, we);
    } else {
      // Messages x_j W_e batched over the edges, summed per target, scaled by 1/|N(i)|.
      auto xj = x.index_select(1, basis.source).permute({1, 0, 2});  // [E, B, in]
      auto messages = torch::bmm(xj, we).permute({1, 0, 2});         // [B, E, out]
      agg = torch::zeros({B, N, out}, x.options()).index_add(1, basis.target, messages) * basis.inv_degree;
    }
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
    cache_ = {
        basis.source, weight, int64_t(weight._version()), functional::spline_edge_weights(basis, weight), {}};
  // One map at a time the pass is bound by streaming the edge weights: half precision pays.
  // Several maps share each weight and make it compute-bound, where widening costs more.
  const bool one_map = x.dim() == 2 || x.size(0) == 1;
  if (one_map && functional::half_edge_weights_available() && x.is_cpu() &&
      x.scalar_type() == torch::kFloat32) {
    if (!cache_.half_edge_weights.defined()) cache_.half_edge_weights = cache_.edge_weights.to(torch::kHalf);
    return functional::spline_conv(x, basis, weight, root, bias, functional::SplinePath::kEdgeMessages,
                                   cache_.half_edge_weights);
  }
  return functional::spline_conv(x, basis, weight, root, bias, functional::SplinePath::kEdgeMessages,
                                 cache_.edge_weights);
}

}  // namespace metaeik::metapinn
