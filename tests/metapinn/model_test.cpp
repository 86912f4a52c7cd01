// SplineConv against a naive per-edge reference, finite-difference gradient checks, hypernetwork
// sizes, functional MLP vs torch::nn, and ∇ₓT vs finite differences (double precision).

#include "metapinn/model.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "geometry/graph.hpp"
#include "geometry/structured.hpp"
#include "metapinn/spline_conv.hpp"
#include "tests/support/errors.hpp"

using namespace metaeik;
using namespace metaeik::metapinn;

namespace {

geometry::Graph small_graph() {
  // Slightly perturbed 3×3×3 grid so pseudo-coordinates fall between the spline knots.
  geometry::TetMesh m = geometry::cube_mesh(2, 2.0);
  auto rng = torch::make_generator<at::CPUGeneratorImpl>(3);
  for (int i = 0; i < m.num_points(); ++i)
    for (int d = 0; d < 3; ++d) m.points(i, d) += 0.13 * std::sin(7.0 * i + 3.0 * d);
  return geometry::mesh_edge_graph(m);
}

// Value of the degree-1 open B-spline kernel function k at pseudo-coordinate u (all 125 kernels
// evaluated directly as products of hat functions, independently of spline_basis()).
double hat_basis(const double* u, int k, int K) {
  double b = 1.0;
  for (int d = 0; d < 3; ++d) {
    const int kd = k % K;
    k /= K;
    b *= std::max(0.0, 1.0 - std::abs(u[d] * (K - 1) - kd));
  }
  return b;
}

// Naive SplineConv: a loop over edges and kernels with per-edge tensor ops (autograd-able).
torch::Tensor naive_spline_conv(const geometry::Graph& g, const torch::Tensor& x, const torch::Tensor& W,
                                const torch::Tensor& root, const torch::Tensor& bias, int K) {
  const int N = g.num_nodes();
  std::vector<torch::Tensor> sum(N);
  std::vector<int> degree(N, 0);
  for (int i = 0; i < N; ++i) sum[i] = torch::zeros({W.size(2)}, x.options());
  for (int e = 0; e < g.num_edges(); ++e) {
    const int j = g.edges(e, 0), i = g.edges(e, 1);
    ++degree[i];
    for (int k = 0; k < K * K * K; ++k) {
      const double b = hat_basis(&g.pseudo(e, 0), k, K);
      if (b != 0.0) sum[i] = sum[i] + b * x[j].matmul(W[k]);
    }
  }
  std::vector<torch::Tensor> rows;
  for (int i = 0; i < N; ++i)
    rows.push_back((degree[i] ? sum[i] / degree[i] : sum[i]) + x[i].matmul(root) + bias);
  return torch::stack(rows);
}

torch::TensorOptions f64() { return torch::TensorOptions().dtype(torch::kFloat64); }

}  // namespace

TEST(SplineBasis, PartitionOfUnityAndIndexRange) {
  auto g = small_graph();
  auto b = spline_basis(g, 5, torch::kFloat64);
  EXPECT_EQ(b.source.size(0), g.num_edges());
  EXPECT_TRUE(torch::allclose(b.basis.sum(1), torch::ones({g.num_edges()}, f64())));
  EXPECT_GE(b.weight_index.min().item<int64_t>(), 0);
  EXPECT_LT(b.weight_index.max().item<int64_t>(), 125);
  // Matches the direct evaluation of all 125 kernels.
  for (int e = 0; e < g.num_edges(); ++e) {
    std::vector<double> dense(125, 0.0);
    for (int s = 0; s < 8; ++s) dense[b.weight_index[e][s].item<int64_t>()] += b.basis[e][s].item<double>();
    for (int k = 0; k < 125; ++k) ASSERT_NEAR(dense[k], hat_basis(&g.pseudo(e, 0), k, 5), 1e-14);
  }
}

class SplineConvPaths : public ::testing::TestWithParam<std::tuple<int, int, functional::SplinePath>> {};

std::string spline_case_name(const ::testing::TestParamInfo<SplineConvPaths::ParamType>& info) {
  const auto [in, out, path] = info.param;
  const char* names[] = {"EdgeMessages", "Gather", "Aggregate", "Fused"};
  return std::string(names[int(path)]) + "_in" + std::to_string(in) + "_out" + std::to_string(out);
}

TEST_P(SplineConvPaths, MatchesNaiveReferenceOutputsAndGradients) {
  const auto [in, out, path] = GetParam();
  torch::manual_seed(1);
  auto g = small_graph();
  auto basis = spline_basis(g, 5, torch::kFloat64);
  auto x = torch::randn({g.num_nodes(), in}, f64()).requires_grad_(true);
  auto W = torch::randn({125, in, out}, f64()).requires_grad_(true);
  auto root = torch::randn({in, out}, f64()).requires_grad_(true);
  auto bias = torch::randn({out}, f64()).requires_grad_(true);
  auto probe = torch::randn({g.num_nodes(), out}, f64());

  auto y = functional::spline_conv(x, basis, W, root, bias, path);
  auto y_ref = naive_spline_conv(g, x, W, root, bias, 5);
  EXPECT_TRUE(torch::allclose(y, y_ref, 1e-12, 1e-12)) << (y - y_ref).abs().max().item<double>();
  auto grads = torch::autograd::grad({(y * probe).sum()}, {x, W, root, bias});
  auto grads_ref = torch::autograd::grad({(y_ref * probe).sum()}, {x, W, root, bias});
  for (int a = 0; a < 4; ++a)
    EXPECT_TRUE(torch::allclose(grads[a], grads_ref[a], 1e-12, 1e-12)) << "argument " << a;

  // Batched input gives the same as one item at a time.
  auto xb = torch::stack({x.detach(), 2.0 * x.detach()});
  auto yb = functional::spline_conv(xb, basis, W.detach(), root.detach(), bias.detach(), path);
  EXPECT_TRUE(torch::allclose(yb[1], functional::spline_conv(2.0 * x.detach(), basis, W.detach(),
                                                             root.detach(), bias.detach(), path)));
}

INSTANTIATE_TEST_SUITE_P(AllEvaluationOrders, SplineConvPaths,
                         ::testing::Combine(::testing::Values(2, 4), ::testing::Values(3, 2),
                                            ::testing::Values(functional::SplinePath::kEdgeMessages,
                                                              functional::SplinePath::kGather,
                                                              functional::SplinePath::kAggregate,
                                                              functional::SplinePath::kFused)),
                         spline_case_name);

TEST(SplineConv, FusedEdgeMessagesMatchGatherInSinglePrecision) {
  // The model runs in float32 with wide layers: the fused loops (vectorised clones) against the
  // tensor-op formulation, values and gradients, batched.
  torch::manual_seed(4);
  auto g = small_graph();
  auto basis = spline_basis(g, 5, torch::kFloat32);
  for (auto [in, out] : {std::pair<int, int>{16, 64}, {37, 19}}) {
    auto x = torch::randn({3, g.num_nodes(), in}).requires_grad_(true);
    auto W = torch::randn({125, in, out}).requires_grad_(true);
    auto root = torch::randn({in, out}), bias = torch::randn({out});
    auto probe = torch::randn({3, g.num_nodes(), out});
    auto y = functional::spline_conv(x, basis, W, root, bias, functional::SplinePath::kEdgeMessages);
    auto y_ref = functional::spline_conv(x, basis, W, root, bias, functional::SplinePath::kGather);
    EXPECT_TRUE(torch::allclose(y, y_ref, 1e-4, 1e-4)) << (y - y_ref).abs().max().item<double>();
    auto grads = torch::autograd::grad({(y * probe).sum()}, {x, W});
    auto grads_ref = torch::autograd::grad({(y_ref * probe).sum()}, {x, W});
    // The fused per-edge weights against the sparse interpolation matrix, and their gradient.
    auto we = functional::spline_edge_weights(basis, W);
    auto we_ref = torch::mm(basis.kernel, W.reshape({125, in * out})).view_as(we);
    EXPECT_TRUE(torch::allclose(we, we_ref, 1e-5, 1e-5));
    auto wprobe = torch::randn_like(we);
    EXPECT_TRUE(torch::allclose(torch::autograd::grad({(we * wprobe).sum()}, {W})[0],
                                torch::autograd::grad({(we_ref * wprobe).sum()}, {W})[0], 1e-4, 1e-4));
    for (int a = 0; a < 2; ++a)
      EXPECT_TRUE(torch::allclose(grads[a], grads_ref[a], 1e-4, 1e-4))
          << "argument " << a << ": " << (grads[a] - grads_ref[a]).abs().max().item<double>();
  }
}

TEST(SplineConv, FusedPathMatchesGatherInSinglePrecision) {
  // The training path (W_e formed on the fly, vector kernels for out = 8, 16, 32, 64, 128; plain loops
  // otherwise) against the tensor-op formulation: values and the gradients in x and W, for batches
  // that fill one and two register blocks of maps.
  torch::manual_seed(5);
  auto g = small_graph();
  auto basis = spline_basis(g, 5, torch::kFloat32);
  for (auto [in, out, B] : {std::tuple<int, int, int>{9, 8, 5},
                            {8, 16, 3},
                            {16, 32, 7},
                            {32, 64, 5},
                            {64, 64, 1},
                            {24, 128, 2},
                            {37, 19, 3}}) {
    auto x = torch::randn({B, g.num_nodes(), in}).requires_grad_(true);
    auto W = torch::randn({125, in, out}).requires_grad_(true);
    auto root = torch::randn({in, out}), bias = torch::randn({out});
    auto probe = torch::randn({B, g.num_nodes(), out});
    auto y = functional::spline_conv(x, basis, W, root, bias, functional::SplinePath::kFused);
    auto y_ref = functional::spline_conv(x, basis, W, root, bias, functional::SplinePath::kGather);
    const double scale = y_ref.abs().max().item<double>();
    EXPECT_LT((y - y_ref).abs().max().item<double>(), 1e-5 * scale) << in << "x" << out;
    auto grads = torch::autograd::grad({(y * probe).sum()}, {x, W});
    auto grads_ref = torch::autograd::grad({(y_ref * probe).sum()}, {x, W});
    for (int a = 0; a < 2; ++a)
      EXPECT_LT((grads[a] - grads_ref[a]).abs().max().item<double>(),
                1e-5 * grads_ref[a].abs().max().item<double>())
          << in << "x" << out << ", argument " << a;
    // Without the gradient in x (the encoder's first layer) W's gradient is the same.
    auto yw = functional::spline_conv(x.detach(), basis, W, root, bias, functional::SplinePath::kFused);
    EXPECT_TRUE(torch::equal(torch::autograd::grad({(yw * probe).sum()}, {W})[0], grads[1]));
  }
}

TEST(SplineConv, HalfPrecisionEdgeWeightsAtInference) {
  // Single-precision inference on one map runs on binary16 edge weights: the result must stay
  // within the rounding of the weights (2⁻¹¹ relative each) of the single-precision pass.
  if (!functional::half_edge_weights_available())
    GTEST_SKIP() << "no half-precision edge weights in this build";
  torch::manual_seed(7);
  auto g = small_graph();
  auto basis = spline_basis(g, 5, torch::kFloat32);
  SplineConv conv(SplineConvOptions(24, 32));
  auto x = torch::randn({1, g.num_nodes(), 24});
  auto reference = conv->forward(x, basis).detach();  // autograd on: single-precision weights
  torch::NoGradGuard guard;
  auto y = conv->forward(x, basis);
  EXPECT_FALSE(torch::equal(y, reference));  // the half-precision path did run
  EXPECT_LT((y - reference).abs().max().item<double>(), 2e-3 * reference.abs().max().item<double>());
  auto we = functional::spline_edge_weights(basis, conv->weight);
  EXPECT_THROW(functional::edge_messages(x.to(torch::kFloat64), basis, we.to(torch::kHalf)), c10::Error);
}

TEST(SplineConv, FiniteDifferenceGradients) {
  torch::manual_seed(2);
  auto g = small_graph();
  auto basis = spline_basis(g, 5, torch::kFloat64);
  SplineConv conv(SplineConvOptions(3, 4));
  conv->to(torch::kFloat64);
  auto x = torch::randn({g.num_nodes(), 3}, f64()).requires_grad_(true);
  auto probe = torch::randn({g.num_nodes(), 4}, f64());
  auto f = [&] { return (torch::tanh(conv->forward(x, basis)) * probe).sum(); };
  auto grads = torch::autograd::grad({f()}, {x, conv->weight, conv->root, conv->bias});
  const double h = 1e-6;
  torch::NoGradGuard guard;
  std::vector<torch::Tensor> params{x, conv->weight, conv->root, conv->bias};
  for (int a = 0; a < 4; ++a) {
    auto flat = params[a].view({-1});
    for (int64_t idx : {int64_t(0), flat.size(0) / 3, flat.size(0) - 1}) {
      const double old = flat[idx].item<double>();
      flat[idx] = old + h;
      const double fp = f().item<double>();
      flat[idx] = old - h;
      const double fm = f().item<double>();
      flat[idx] = old;
      EXPECT_NEAR(grads[a].reshape({-1})[idx].item<double>(), (fp - fm) / (2 * h), 1e-7) << "argument " << a;
    }
  }
}

TEST(SplineConv, InferenceReusesEdgeWeightsOnlyWhileValid) {
  // Without autograd the per-edge weights are cached per graph and weight version; the result must
  // equal the autograd path after switching graphs and after an in-place weight update.
  torch::manual_seed(3);
  auto g1 = small_graph();
  auto g2 = geometry::mesh_edge_graph(geometry::cube_mesh(2, 1.0));
  auto b1 = spline_basis(g1, 5, torch::kFloat64), b2 = spline_basis(g2, 5, torch::kFloat64);
  SplineConv conv(SplineConvOptions(3, 4));
  conv->to(torch::kFloat64);
  auto x1 = torch::randn({g1.num_nodes(), 3}, f64()), x2 = torch::randn({g2.num_nodes(), 3}, f64());
  auto check = [&] {
    auto r1 = conv->forward(x1, b1).detach(), r2 = conv->forward(x2, b2).detach();
    torch::NoGradGuard guard;
    for (int rep = 0; rep < 2; ++rep) {
      EXPECT_TRUE(torch::allclose(conv->forward(x1, b1), r1, 1e-12, 1e-12));
      EXPECT_TRUE(torch::allclose(conv->forward(x2, b2), r2, 1e-12, 1e-12));
    }
  };
  check();
  {
    torch::NoGradGuard guard;
    conv->weight.mul_(-0.5);
  }
  check();
}

TEST(Encoder, PoolsThroughTheHierarchyToAnEmbedding) {
  auto g = geometry::mesh_edge_graph(geometry::cube_mesh(5, 1.0));
  auto h = geometry::coarsen(g, {6, 2, 0});
  auto levels = graph_levels(h, 5, torch::kFloat32);
  Encoder enc(std::vector<int64_t>{8, 16, 32, 64, 128, 128}, 2, 5);
  auto z = enc->forward(torch::randn({3, g.num_nodes(), 2}), levels);
  EXPECT_EQ(z.sizes(), torch::IntArrayRef({3, 128}));
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
  // Pooling averages clusters: constant features stay constant.
  auto pooled = functional::pool_mean(torch::full({1, g.num_nodes(), 2}, 3.0), levels[0]);
  EXPECT_TRUE(torch::allclose(pooled, torch::full({1, levels[0].num_coarse, 2}, 3.0)));
}

TEST(EncoderInputs, CoordinatesAndUpwindSlownessOnObservedNodes) {
  // f = 0.5·x on the observed half z < 0.5 of a unit cube: the upwind slowness is 0.5 wherever an
  // observed node lies behind along −x (every observed node with x > 0), 0 elsewhere.
  auto mesh = geometry::cube_mesh(4, 1.0);
  auto g = geometry::mesh_edge_graph(mesh);
  auto levels = graph_levels(geometry::coarsen(g, {6, 2, 0}), 5, torch::kFloat32);
  const int n = g.num_nodes();
  auto nodes = torch::empty({n, 3});
  auto f = torch::zeros({1, n, 2});
  for (int i = 0; i < n; ++i) {
    for (int d = 0; d < 3; ++d) nodes[i][d] = mesh.points(i, d);
    const bool observed = mesh.points(i, 2) < 0.5;
    f[0][i][0] = observed ? 0.5 * mesh.points(i, 0) : -1.0;
    f[0][i][1] = observed ? 1.0 : 0.0;
  }
  MetaPinn model(ModelOptions{}, 0.6);
  auto in = model->encoder_inputs(f, levels, nodes);
  ASSERT_EQ(in.sizes(), torch::IntArrayRef({1, n, 9}));
  for (int i = 0; i < n; ++i) {
    const bool observed = mesh.points(i, 2) < 0.5;
    const double expected = observed && mesh.points(i, 0) > 0 ? 0.5 : 0.0;
    EXPECT_NEAR(in[0][i][5].item<double>(), expected, 1e-6) << "node " << i;
    EXPECT_NEAR(in[0][i][2].item<double>(), observed ? mesh.points(i, 0) : 0.0, 1e-6);
    EXPECT_NEAR(in[0][i][6].item<double>(), expected * mesh.points(i, 0), 1e-6);
  }
}

TEST(HyperNet, OutputSizeIsTheTargetParameterCount) {
  ModelOptions o;
  // Inputs x', y', z' and the distance to the estimated source.
  EXPECT_EQ(functional::mlp_parameter_count(o.pinn_sizes()), 4 * 20 + 20 + 5 * (20 * 20 + 20) + 20 + 1);
  EXPECT_EQ(o.pinn_sizes().size(), 8u);      // input, 6 hidden, output
  EXPECT_EQ(o.velocity_sizes().size(), 9u);  // 8 linear layers
  MetaPinn model(o, 0.6);
  auto c = torch::randn({128});
  auto s = torch::randn({4, 128});
  EXPECT_EQ(model->pinn_weights(c, s).sizes(), torch::IntArrayRef({4, 2221}));
  EXPECT_EQ(model->velocity_weights(c).size(0), functional::mlp_parameter_count(o.velocity_sizes()));
  // Generated networks count as many parameters as the equivalent torch::nn modules.
  torch::nn::Sequential ref;
  auto sizes = o.velocity_sizes();
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l)
    ref->push_back(torch::nn::Linear(sizes[l], sizes[l + 1]));
  int64_t count = 0;
  for (auto& p : ref->parameters()) count += p.numel();
  EXPECT_EQ(count, model->velocity_weights(c).size(0));
}

TEST(FunctionalMlp, EqualsTorchModuleWithTheSameWeights) {
  torch::manual_seed(4);
  const std::vector<int64_t> sizes{3, 20, 20, 20, 1};
  for (auto act : {functional::Activation::kTanh, functional::Activation::kRelu}) {
    torch::nn::Sequential ref;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      ref->push_back(torch::nn::Linear(sizes[l], sizes[l + 1]));
      if (l + 2 < sizes.size()) {
        if (act == functional::Activation::kTanh)
          ref->push_back(torch::nn::Tanh());
        else
          ref->push_back(torch::nn::ReLU());
      }
    }
    ref->to(torch::kFloat64);
    std::vector<torch::Tensor> parts;
    for (auto& p : ref->parameters()) parts.push_back(p.detach().reshape({-1}));  // weight, bias per layer
    auto flat = torch::cat(parts);
    auto x = torch::randn({50, 3}, f64());
    EXPECT_TRUE(torch::allclose(functional::mlp(x, flat, sizes, act), ref->forward(x), 1e-13, 1e-13));
    // Batched: two different networks at once.
    auto flat2 = torch::stack({flat, 0.5 * flat});
    auto y2 = functional::mlp(torch::stack({x, x}), flat2, sizes, act);
    EXPECT_TRUE(torch::allclose(y2[0], ref->forward(x), 1e-13, 1e-13));
    EXPECT_TRUE(torch::allclose(y2[1], functional::mlp(x, 0.5 * flat, sizes, act), 1e-13, 1e-13));
  }
}

TEST(PdeResidual, AutogradGradientMatchesFiniteDifferences) {
  // Through the generated PINN and its source-distance input d(x) = sqrt(|x − x̂₀|² + ε²).
  torch::manual_seed(5);
  MetaPinn model(ModelOptions{}, 0.6);
  model->to(torch::kFloat64);
  const auto sizes = model->options.pinn_sizes();
  auto flat = torch::randn({2, functional::mlp_parameter_count(sizes)}, f64()) * 0.5;
  auto sources = torch::rand({2, 3}, f64());
  auto x = torch::rand({2, 30, 3}, f64()).requires_grad_(true);
  auto T = model->time(x, flat, sources);
  auto g = functional::spatial_gradient(T, x, false);
  const double h = 1e-6;
  torch::NoGradGuard guard;
  for (int d = 0; d < 3; ++d) {
    auto e = torch::zeros({1, 1, 3}, f64());
    e[0][0][d] = h;
    auto fd = (model->time(x + e, flat, sources) - model->time(x - e, flat, sources)) / (2 * h);
    EXPECT_TRUE(torch::allclose(g.select(2, d), fd, 1e-7, 1e-8)) << "component " << d;
  }
}

TEST(PdeResidual, ForwardModeGradientMatchesAutograd) {
  // time_and_gradient (forward mode) against ∇ₓ of time() by reverse-mode autograd, and the
  // functional MLP's directional derivatives for every activation; both stay differentiable.
  torch::manual_seed(6);
  MetaPinn model(ModelOptions{}, 0.6);
  model->to(torch::kFloat64);
  auto flat = (torch::randn({2, functional::mlp_parameter_count(model->options.pinn_sizes())}, f64()) * 0.5)
                  .requires_grad_(true);
  auto sources = torch::rand({2, 3}, f64());
  auto x = torch::rand({2, 30, 3}, f64()).requires_grad_(true);
  auto T = model->time(x, flat, sources);
  auto g = functional::spatial_gradient(T, x, true);
  auto [T2, g2] = model->time_and_gradient(x, flat, sources);
  EXPECT_TRUE(torch::allclose(T2, T, 1e-13, 1e-13));
  EXPECT_TRUE(torch::allclose(g2, g, 1e-12, 1e-12)) << (g2 - g).abs().max().item<double>();
  // The PDE loss's gradient with respect to the generated weights: double backward vs first order.
  auto w = torch::autograd::grad({g.pow(2).sum()}, {flat})[0];
  auto w2 = torch::autograd::grad({g2.pow(2).sum()}, {flat})[0];
  EXPECT_TRUE(torch::allclose(w2, w, 1e-11, 1e-11));

  const std::vector<int64_t> sizes{3, 7, 5, 2};
  for (auto act :
       {functional::Activation::kTanh, functional::Activation::kRelu, functional::Activation::kElu}) {
    auto f = torch::randn({functional::mlp_parameter_count(sizes)}, f64());
    auto xs = torch::randn({40, 3}, f64()).requires_grad_(true);
    auto dirs = torch::randn({2, 40, 3}, f64());
    auto y = functional::mlp(xs, f, sizes, act);
    auto [y2, dy] = functional::mlp_jvp(xs, dirs, f, sizes, act);
    EXPECT_TRUE(torch::allclose(y2, y, 1e-13, 1e-13));
    for (int out = 0; out < 2; ++out) {
      auto jac = torch::autograd::grad({y.select(1, out).sum()}, {xs}, {}, true)[0];  // rows independent
      for (int d = 0; d < 2; ++d)
        EXPECT_TRUE(torch::allclose(dy[d].select(1, out), (jac * dirs[d]).sum(1), 1e-12, 1e-12))
            << "activation " << int(act) << " output " << out << " direction " << d;
    }
  }
}

TEST(VelocityNet, LogitsAndTheirSaturationPenalty) {
  // speed() is the sigmoid bound of speed_logits(); the penalty is zero inside |s| ≤ 4.
  torch::manual_seed(8);
  MetaPinn model(ModelOptions{}, 0.6);
  auto w = torch::randn({functional::mlp_parameter_count(model->options.velocity_sizes())});
  auto x = torch::rand({20, 3});
  EXPECT_TRUE(torch::allclose(model->speed_of_logits(model->speed_logits(x, w)), model->speed(x, w)));
  auto s = torch::tensor({0.0, 3.9, -4.0, 6.0, -10.0}, torch::kFloat64);
  EXPECT_DOUBLE_EQ(functional::saturation_penalty(s).item<double>(), (4.0 + 36.0) / 5.0);
  EXPECT_DOUBLE_EQ(functional::saturation_penalty(s.narrow(0, 0, 3)).item<double>(), 0.0);
}

TEST(SourcePoints, SoftArgminOfTheEarliestObservations) {
  // Four observed nodes on a line, the earliest at x = 2; one unobserved node earlier still.
  auto nodes =
      torch::tensor({0.0, 1.0, 2.0, 3.0, 9.0}, torch::kFloat32).view({5, 1}).expand({5, 3}).contiguous();
  auto f = torch::tensor({{0.5, 1.0}, {0.3, 1.0}, {0.1, 1.0}, {0.4, 1.0}, {-1.0, 0.0}}, torch::kFloat32);
  MetaPinn model(ModelOptions{}, 0.6);
  auto s = model->source_points(f.unsqueeze(0), nodes);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({1, 3}));
  // The next observation is 0.2 later = 20 σ: its weight is e^−20.
  EXPECT_NEAR(s[0][0].item<double>(), 2.0, 1e-6);
  // Two equally early nodes: their midpoint.
  f[1][0] = 0.1;
  EXPECT_NEAR(model->source_points(f.unsqueeze(0), nodes)[0][1].item<double>(), 1.5, 1e-6);
}

TEST(PdeResidual, ZeroForAnExactDistanceFieldAndDifferentiable) {
  // T = |x − x0| / v solves |∇T|·v = 1 away from x0.
  auto x = (torch::rand({1, 40, 3}, f64()) + 1.0).requires_grad_(true);
  const double v = 0.7;
  auto T = x.norm(2, -1) / v;
  auto r = functional::eikonal_residual(T, x, torch::full({40}, v, f64()), true);
  EXPECT_LT(r.abs().max().item<double>(), 1e-10);
  // Wrong speed: residual = v'/v − 1 everywhere; the residual depends on x through T (create_graph).
  auto r2 = functional::eikonal_residual(T, x, torch::full({40}, 2 * v, f64()), true);
  EXPECT_NEAR(r2.mean().item<double>(), 1.0, 1e-10);
  auto gx = torch::autograd::grad({r2.pow(2).sum()}, {x}, {}, true, false, true);
  EXPECT_TRUE(gx[0].defined());
}

// F(x) = v_min + (v_max − v_min)·sigmoid(MLP(x)), with ELU between the layers when asked: the
// same as a naive layer-by-layer evaluation of the generated weights. The activation is part of the
// signature, except ReLU (the original), so that older checkpoints still load.
TEST(MetaPinn, EluVelocityNetMatchesNaiveEvaluation) {
  torch::manual_seed(3);
  ModelOptions o;
  o.encoder_channels = {4, 8};
  o.hyper_hidden = {16};
  o.velocity_width = 5;
  o.velocity_layers = 3;
  o.velocity_activation = "elu";
  MetaPinn model(o, 0.6);
  const auto w = model->velocity_weights(torch::randn({o.embedding()}));
  const auto x = torch::randn({7, 3});
  torch::Tensor h = x;
  int64_t offset = 0;
  const auto sizes = o.velocity_sizes();
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    auto weight = w.narrow(0, offset, sizes[l] * sizes[l + 1]).view({sizes[l + 1], sizes[l]});
    offset += sizes[l] * sizes[l + 1];
    auto bias = w.narrow(0, offset, sizes[l + 1]);
    offset += sizes[l + 1];
    h = torch::matmul(h, weight.t()) + bias;
    if (l + 2 < sizes.size()) h = torch::elu(h);
  }
  const auto naive = (o.v_min + (o.v_max - o.v_min) * torch::sigmoid(h.squeeze(-1))) / 0.6;
  EXPECT_TRUE(torch::allclose(model->speed(x, w), naive, 1e-5, 1e-6));

  ModelOptions relu = o;
  relu.velocity_activation = "relu";
  EXPECT_NE(o.signature().find(" velocity_activation=elu"), std::string::npos);
  EXPECT_EQ(relu.signature().find("velocity_activation"), std::string::npos);
  relu.velocity_activation = "tanh";
  EXPECT_EQ(test::error_of([&] { MetaPinn bad(relu, 0.6); }),
            "model: velocity_activation must be relu or elu, got tanh");
}

// The data loss is the mean squared error over the supervised nodes of each query: the observed
// nodes by default, or a per-query mask (all-node supervision of complete training maps).
TEST(MetaPinn, DataLossOverObservedOrSupervisedNodes) {
  torch::manual_seed(5);
  auto mesh = geometry::cube_mesh(3, 1.0);
  auto h = geometry::coarsen(geometry::mesh_edge_graph(mesh), {3, 1, 0});
  auto levels = graph_levels(h, 5, torch::kFloat32);
  ModelOptions o;
  o.encoder_channels = {4, 8};
  o.hyper_hidden = {16};
  o.pinn_width = 6;
  o.pinn_hidden_layers = 2;
  o.velocity_width = 4;
  o.velocity_layers = 2;
  MetaPinn model(o, 0.6);
  const int64_t N = mesh.num_points(), Q = 2;
  EpisodeInput in;
  in.levels = &levels;
  in.nodes = torch::from_blob(mesh.points.data(), {N, 3}, torch::kFloat64).to(torch::kFloat32);
  in.context = torch::rand({3, N, 2});
  in.query_features = torch::rand({Q, N, 2});
  in.query_times = torch::rand({Q, N});
  in.observed = torch::arange(N) % 3 == 0;
  auto out = model->run(in, false);
  auto mask = in.observed.to(torch::kFloat32).unsqueeze(0).expand({Q, N});
  auto naive = ((out.times - in.query_times).pow(2) * mask).sum() / mask.sum();
  EXPECT_NEAR(out.data_loss.item<double>(), naive.item<double>(), 1e-6);

  in.supervised = (torch::rand({Q, N}) < 0.4).to(torch::kFloat32);
  out = model->run(in, false);
  double sum = 0;
  int count = 0;
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t i = 0; i < N; ++i)
      if (in.supervised[q][i].item<float>() > 0) {
        sum += std::pow(out.times[q][i].item<double>() - in.query_times[q][i].item<double>(), 2);
        ++count;
      }
  ASSERT_GT(count, 0);
  EXPECT_NEAR(out.data_loss.item<double>(), sum / count, 1e-6);
}
