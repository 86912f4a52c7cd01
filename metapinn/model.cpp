#include "metapinn/model.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <tuple>
#include <vector>

#include "core/error.hpp"

namespace metaeik::metapinn {

namespace functional {

int64_t mlp_parameter_count(const std::vector<int64_t>& sizes) {
  int64_t p = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) p += sizes[l] * sizes[l + 1] + sizes[l + 1];
  return p;
}

namespace {
torch::Tensor activate(const torch::Tensor& x, Activation a) {
  switch (a) {
    case Activation::kTanh:
      return torch::tanh(x);
    case Activation::kRelu:
      return torch::relu(x);
    case Activation::kElu:
      return torch::elu(x);
  }
  return x;
}
// Weight [B, out, in] and bias [B, 1, out] of the next layer of flat MLP parameters [B, P]
// (layout of mlp()); advances `offset` past them.
std::pair<torch::Tensor, torch::Tensor> next_layer(const torch::Tensor& flat, int64_t in, int64_t out,
                                                   int64_t& offset) {
  const int64_t B = flat.size(0);
  auto w = flat.narrow(1, offset, in * out).view({B, out, in});
  offset += in * out;
  auto b = flat.narrow(1, offset, out).view({B, 1, out});
  offset += out;
  return {w, b};
}
// One hidden tanh layer of mlp_jvp in one pass each way: from the products z [B, (1 + D)·N, out]
// (values, then D blocks of directional derivatives) and the bias [B, 1, out] to
// h = [tanh(z₀ + b), dz · (1 − tanh²)]. Autograd would run and record some ten tensor operations
// per layer forward and backward on these [B, 4·N, 20] arrays (the PINN on every node and
// residual point of Q queries).
struct TanhJvp : torch::autograd::Function<TanhJvp> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z_in,
                               const torch::Tensor& bias_in, int64_t N) {
    auto z = z_in.contiguous(), bias = bias_in.contiguous();
    const int64_t B = z.size(0), R = z.size(1), C = z.size(2), D = R / N - 1;
    auto value = torch::tanh(z.narrow(1, 0, N) + bias);  // torch's vectorised tanh
    auto h = torch::empty_like(z);
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "tanh_jvp", [&] {
      const scalar_t* zp = z.data_ptr<scalar_t>();
      const scalar_t* vp = value.data_ptr<scalar_t>();
      scalar_t* hp = h.data_ptr<scalar_t>();
      at::parallel_for(0, B * N, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t b = r / N, n = r % N;
          const scalar_t* v = vp + r * C;
          std::copy(v, v + C, hp + (b * R + n) * C);
          for (int64_t d = 0; d < D; ++d) {
            const int64_t row = (b * R + (1 + d) * N + n) * C;
            for (int64_t c = 0; c < C; ++c) hp[row + c] = zp[row + c] * (1 - v[c] * v[c]);
          }
        }
      });
    });
    ctx->save_for_backward({z, value});
    ctx->saved_data["N"] = N;
    return h;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& z = saved[0];
    const auto& value = saved[1];
    const int64_t N = ctx->saved_data["N"].toInt();
    const int64_t B = z.size(0), R = z.size(1), C = z.size(2), D = R / N - 1;
    auto g = grads[0].contiguous();
    auto gz = torch::empty_like(z);
    // value rows: d/dz₀ of h₀ = v and of h_d = dz_d·(1 − v²): (g₀ − 2v Σ_d g_d dz_d)(1 − v²);
    // derivative rows: g_d (1 − v²).
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "tanh_jvp_backward", [&] {
      const scalar_t* zp = z.data_ptr<scalar_t>();
      const scalar_t* vp = value.data_ptr<scalar_t>();
      const scalar_t* gp = g.data_ptr<scalar_t>();
      scalar_t* out = gz.data_ptr<scalar_t>();
      at::parallel_for(0, B * N, 64, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> t(C);
        for (int64_t r = begin; r < end; ++r) {
          const int64_t b = r / N, n = r % N;
          const scalar_t* v = vp + r * C;
          std::fill(t.begin(), t.end(), scalar_t(0));
          for (int64_t d = 0; d < D; ++d) {
            const int64_t row = (b * R + (1 + d) * N + n) * C;
            for (int64_t c = 0; c < C; ++c) {
              const scalar_t slope = 1 - v[c] * v[c];
              t[c] += gp[row + c] * zp[row + c];
              out[row + c] = gp[row + c] * slope;
            }
          }
          const int64_t row = (b * R + n) * C;
          for (int64_t c = 0; c < C; ++c) out[row + c] = (gp[row + c] - 2 * v[c] * t[c]) * (1 - v[c] * v[c]);
        }
      });
    });
    auto gbias = gz.narrow(1, 0, N).sum(1, /*keepdim=*/true);
    return {gz, gbias, torch::Tensor()};
  }
};
}  // namespace

torch::Tensor mlp(const torch::Tensor& x_in, const torch::Tensor& flat_in, const std::vector<int64_t>& sizes,
                  Activation activation) {
  TORCH_CHECK(sizes.size() >= 2, "mlp: need at least an input and an output size");
  const bool batched = flat_in.dim() == 2;
  TORCH_CHECK(batched ? x_in.dim() == 3 : x_in.dim() == 2,
              "mlp: x must be [N, d0] with flat [P], or [B, N, d0] with flat [B, P]");
  torch::Tensor flat = batched ? flat_in : flat_in.unsqueeze(0);
  torch::Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t B = flat.size(0);
  TORCH_CHECK(flat.size(1) == mlp_parameter_count(sizes), "mlp: flat weights have ", flat.size(1),
              " entries, the network needs ", mlp_parameter_count(sizes));
  TORCH_CHECK(x.size(0) == B && x.size(2) == sizes[0], "mlp: x must have batch ", B, " and ", sizes[0],
              " features");
  int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const auto [w, b] = next_layer(flat, sizes[l], sizes[l + 1], offset);
    x = torch::baddbmm(b, x, w.transpose(1, 2));
    if (l + 2 < sizes.size()) x = activate(x, activation);
  }
  return batched ? x : x.squeeze(0);
}

std::pair<torch::Tensor, torch::Tensor> mlp_jvp(const torch::Tensor& x_in, const torch::Tensor& dx_in,
                                                const torch::Tensor& flat_in,
                                                const std::vector<int64_t>& sizes, Activation activation) {
  const bool batched = flat_in.dim() == 2;
  torch::Tensor flat = batched ? flat_in : flat_in.unsqueeze(0);
  torch::Tensor x = batched ? x_in : x_in.unsqueeze(0);
  torch::Tensor dx = batched ? dx_in : dx_in.unsqueeze(0);
  const int64_t B = flat.size(0), D = dx.size(1), N = x.size(1);
  TORCH_CHECK(flat.size(1) == mlp_parameter_count(sizes), "mlp_jvp: flat weights have ", flat.size(1),
              " entries, the network needs ", mlp_parameter_count(sizes));
  TORCH_CHECK(x.dim() == 3 && x.size(0) == B && x.size(2) == sizes[0] && dx.dim() == 4 && dx.size(0) == B &&
                  dx.size(2) == N && dx.size(3) == sizes[0],
              "mlp_jvp: need x [B, N, ", sizes[0], "] and dx [B, D, N, ", sizes[0], "]");
  // Values and derivatives stacked as [B, (1 + D)·N, width]: one product per layer for all.
  auto h = torch::cat({x.unsqueeze(1), dx}, 1).view({B, (1 + D) * N, sizes[0]});
  int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t out = sizes[l + 1];
    const auto [w, b] = next_layer(flat, sizes[l], out, offset);
    auto z = torch::bmm(h, w.transpose(1, 2));  // [B, (1 + D)·N, out]
    if (l + 2 < sizes.size() && activation == Activation::kTanh) {
      h = TanhJvp::apply(z, b, N);
      continue;
    }
    auto value = z.narrow(1, 0, N) + b;
    auto derivative = z.narrow(1, N, D * N).view({B, D, N, out});
    if (l + 2 < sizes.size()) {
      torch::Tensor slope;  // activation'(value), from the activation's output where that is cheaper
      switch (activation) {
        case Activation::kTanh:
          value = torch::tanh(value);
          slope = 1.0 - value.pow(2);
          break;
        case Activation::kRelu:
          slope = (value > 0).to(value.dtype());
          value = torch::relu(value);
          break;
        case Activation::kElu:
          slope = torch::where(value > 0, torch::ones_like(value), torch::exp(value));
          value = torch::elu(value);
          break;
      }
      derivative = derivative * slope.unsqueeze(1);
    }
    h = torch::cat({value.unsqueeze(1), derivative}, 1).view({B, (1 + D) * N, out});
  }
  auto all = h.view({B, 1 + D, N, sizes.back()});
  auto y = all.select(1, 0), dy = all.narrow(1, 1, D);
  return {batched ? y : y.squeeze(0), batched ? dy : dy.squeeze(0)};
}

torch::Tensor spatial_gradient(const torch::Tensor& T, const torch::Tensor& x, bool create_graph) {
  auto grads = torch::autograd::grad({T}, {x}, {torch::ones_like(T)}, /*retain_graph=*/true, create_graph);
  return grads[0];
}

torch::Tensor eikonal_residual(const torch::Tensor& T, const torch::Tensor& x, const torch::Tensor& speed,
                               bool create_graph) {
  return eikonal_residual(spatial_gradient(T, x, create_graph), speed);
}

torch::Tensor eikonal_residual(const torch::Tensor& gradient, const torch::Tensor& speed) {
  // Smooth |g| (the 1e-12 keeps the derivative finite where ∇T = 0).
  return torch::sqrt(gradient.pow(2).sum(-1) + 1e-12) * speed - 1.0;
}

torch::Tensor saturation_penalty(const torch::Tensor& logits, double live) {
  return torch::relu(logits.abs() - live).pow(2).mean();
}

}  // namespace functional

std::vector<int64_t> ModelOptions::pinn_sizes() const {
  std::vector<int64_t> s{source_distance ? 4 : 3};
  for (int64_t l = 0; l < pinn_hidden_layers; ++l) s.push_back(pinn_width);
  s.push_back(1);
  return s;
}

std::vector<int64_t> ModelOptions::velocity_sizes() const {
  std::vector<int64_t> s{3};
  for (int64_t l = 0; l + 1 < velocity_layers; ++l) s.push_back(velocity_width);
  s.push_back(1);
  return s;
}

std::string ModelOptions::signature() const {
  std::ostringstream os;
  auto list = [&os](const std::vector<int64_t>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? "-" : "") << v[i];
  };
  os << "metapinn-v1 encoder=";
  list(encoder_channels);
  os << " kernel=" << kernel_size << " hyper=";
  list(hyper_hidden);
  os << " pinn=";
  list(pinn_sizes());
  os << " velocity=";
  list(velocity_sizes());
  if (velocity_activation != "relu") os << " velocity_activation=" << velocity_activation;
  if (encoder_coordinates || encoder_slowness)
    os << " encoder_inputs=at,mask" << (encoder_coordinates ? ",xyz" : "")
       << (encoder_slowness ? ",slowness,slowness*xyz" : "");
  if (source_distance) os << " pinn_inputs=xyz,source_distance";
  return os.str();
}

// ---------------------------------------------------------------------------------------------
EncoderImpl::EncoderImpl(std::vector<int64_t> channels_, int64_t in_channels_, int64_t kernel_size_)
    : channels(std::move(channels_)), in_channels(in_channels_), kernel_size(kernel_size_) {
  reset();
}

void EncoderImpl::reset() {
  convs.clear();
  int64_t in = in_channels;
  for (std::size_t l = 0; l < channels.size(); ++l) {
    convs.push_back(register_module("conv" + std::to_string(l),
                                    SplineConv(SplineConvOptions(in, channels[l]).kernel_size(kernel_size))));
    in = channels[l];
  }
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x_in, const std::vector<GraphLevel>& levels) {
  TORCH_CHECK(!levels.empty(), "encoder: empty graph hierarchy");
  TORCH_CHECK(x_in.dim() == 3 && x_in.size(2) == in_channels, "encoder: input must be [B, N, ", in_channels,
              "]");
  torch::Tensor x = x_in;
  std::size_t level = 0;
  for (std::size_t l = 0; l < convs.size(); ++l) {
    x = torch::elu(convs[l]->forward(x, levels[level].basis));
    // Coarsen between layers while coarser levels exist.
    if (l + 1 < convs.size() && level + 1 < levels.size()) {
      x = functional::pool_mean(x, levels[level]);
      ++level;
    }
  }
  return std::get<0>(x.max(1));  // global max pool → [B, C]
}

// ---------------------------------------------------------------------------------------------
HyperNetImpl::HyperNetImpl(int64_t in_, std::vector<int64_t> hidden_, std::vector<int64_t> target_sizes_,
                           double init_scale_)
    : in(in_), hidden(std::move(hidden_)), target_sizes(std::move(target_sizes_)), init_scale(init_scale_) {
  reset();
}

void HyperNetImpl::reset() {
  net = torch::nn::Sequential();
  int64_t d = in;
  for (int64_t h : hidden) {
    net->push_back(torch::nn::Linear(d, h));
    net->push_back(torch::nn::ELU());
    d = h;
  }
  const int64_t P = functional::mlp_parameter_count(target_sizes);
  torch::nn::Linear last(d, P);
  {
    torch::NoGradGuard guard;
    last->weight.mul_(init_scale);
    // Bias = a default-initialised (Kaiming-uniform, as torch::nn::Linear) target network.
    auto bias = last->bias;
    int64_t offset = 0;
    for (std::size_t l = 0; l + 1 < target_sizes.size(); ++l) {
      const int64_t fi = target_sizes[l], fo = target_sizes[l + 1];
      const double bound = 1.0 / std::sqrt(double(fi));
      bias.narrow(0, offset, fi * fo).uniform_(-bound, bound);
      offset += fi * fo;
      bias.narrow(0, offset, fo).uniform_(-bound, bound);
      offset += fo;
    }
  }
  net->push_back(last);
  register_module("net", net);
}

torch::Tensor HyperNetImpl::forward(const torch::Tensor& z) { return net->forward(z); }

// ---------------------------------------------------------------------------------------------
MetaPinnImpl::MetaPinnImpl(ModelOptions options_, double speed_scale_)
    : options(std::move(options_)), speed_scale(speed_scale_) {
  reset();
}

void MetaPinnImpl::reset() {
  METAEIK_CHECK(options.encoder_channels.size() >= 1, "model: encoder_channels must not be empty");
  METAEIK_CHECK(options.v_min > 0 && options.v_max > options.v_min,
                "model: need 0 < v_min < v_max, got " << options.v_min << ", " << options.v_max);
  METAEIK_CHECK(speed_scale > 0, "model: speed scale must be positive");
  METAEIK_CHECK(options.velocity_activation == "relu" || options.velocity_activation == "elu",
                "model: velocity_activation must be relu or elu, got " << options.velocity_activation);
  velocity_activation_ =
      options.velocity_activation == "elu" ? functional::Activation::kElu : functional::Activation::kRelu;
  const int64_t C = options.embedding();
  const int64_t in = encoder_input_channels(options);
  velocity_encoder =
      register_module("velocity_encoder", Encoder(options.encoder_channels, in, options.kernel_size));
  source_encoder =
      register_module("source_encoder", Encoder(options.encoder_channels, in, options.kernel_size));
  pinn_hyper = register_module(
      "pinn_hyper", HyperNet(2 * C, options.hyper_hidden, options.pinn_sizes(), options.hyper_init_scale));
  velocity_hyper =
      register_module("velocity_hyper",
                      HyperNet(C, options.hyper_hidden, options.velocity_sizes(), options.hyper_init_scale));
  init_velocity_hyper(velocity_hyper, options);
}

int64_t encoder_input_channels(const ModelOptions& options) {
  return 2 + (options.encoder_coordinates ? 3 : 0) + (options.encoder_slowness ? 4 : 0);
}

void init_velocity_hyper(HyperNet& hyper, const ModelOptions& options) {
  // The deep ReLU velocity-net starts from He-uniform weights and zero biases (the default
  // Linear init shrinks the signal ~2.5× per layer, so 8 layers start out constant in x).
  torch::NoGradGuard guard;
  auto last = hyper->net->ptr(hyper->net->size() - 1)->as<torch::nn::Linear>();
  const auto sizes = options.velocity_sizes();
  int64_t offset = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t fi = sizes[l], fo = sizes[l + 1];
    const double bound = std::sqrt(6.0 / double(fi));
    last->bias.narrow(0, offset, fi * fo).uniform_(-bound, bound);
    offset += fi * fo;
    last->bias.narrow(0, offset, fo).zero_();
    offset += fo;
  }
}

namespace {
/// Forwards torch warnings to spdlog (instead of glog), except the beta notice of scatter_reduce.
class BetaWarningFilter : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    if (msg.find("scatter_reduce() is in beta") == std::string::npos) spdlog::warn("torch: {}", msg);
  }
};

/// Upwind apparent slowness of each map on the level-0 graph: [B, N] (see ModelOptions).
torch::Tensor apparent_slowness(const torch::Tensor& features, const torch::Tensor& nodes,
                                const SplineBasis& graph) {
  constexpr double kMax = 5.0;  // about 30× the healthy value with the usual feature scaling
  const auto& i = graph.target;
  const auto& j = graph.source;
  auto t = features.select(2, 0), mask = features.select(2, 1);
  auto length = (nodes.index_select(0, i) - nodes.index_select(0, j)).norm(2, -1).clamp_min(1e-6);  // [E]
  auto slope = (t.index_select(1, i) - t.index_select(1, j)) / length;                              // [B, E]
  slope = (slope * mask.index_select(1, i) * mask.index_select(1, j)).clamp(0.0, kMax);
  auto index = i.unsqueeze(0).expand_as(slope);
  // LibTorch 1.13 flags scatter_reduce as beta with a warning that its default handler sends
  // through glog ("Logging before InitGoogleLogging()"); the call is stable here, so drop it.
  // The handler is process-wide: installed once and never removed (threads may train side by side).
  static BetaWarningFilter filter;
  static std::once_flag installed;
  std::call_once(installed, [] { c10::Warning::set_warning_handler(&filter); });
  return torch::zeros_like(t).scatter_reduce(1, index, slope, "amax", /*include_self=*/true) * mask;
}
}  // namespace

torch::Tensor MetaPinnImpl::encoder_inputs(const torch::Tensor& features,
                                           const std::vector<GraphLevel>& levels,
                                           const torch::Tensor& nodes) const {
  return metapinn::encoder_inputs(options, features, levels, nodes);
}

torch::Tensor encoder_inputs(const ModelOptions& options, const torch::Tensor& features,
                             const std::vector<GraphLevel>& levels, const torch::Tensor& nodes) {
  TORCH_CHECK(nodes.dim() == 2 && nodes.size(0) == features.size(1), "encoder: nodes must be [N, 3]");
  std::vector<torch::Tensor> parts{features};
  // Positions only where the map has (kept) observations, zero elsewhere: unobserved nodes then all
  // carry the same input, so the global max pool responds to where the observations are rather
  // than to the extent of the mesh.
  if (options.encoder_coordinates)
    parts.push_back(nodes.unsqueeze(0).expand({features.size(0), nodes.size(0), 3}) *
                    features.narrow(2, 1, 1));
  if (options.encoder_slowness) {
    // The slowness and, where it is high, the positions: the max pool over these channels then
    // reports the extent of the slow tissue directly.
    auto slowness = apparent_slowness(features, nodes, levels.at(0).basis).unsqueeze(2);
    parts.push_back(slowness);
    parts.push_back(nodes.unsqueeze(0) * slowness);
  }
  return torch::cat(parts, 2);
}

torch::Tensor MetaPinnImpl::context_embedding(const torch::Tensor& context,
                                              const std::vector<GraphLevel>& levels,
                                              const torch::Tensor& nodes) {
  return velocity_encoder->forward(encoder_inputs(context, levels, nodes), levels).mean(0);
}

torch::Tensor MetaPinnImpl::source_embedding(const torch::Tensor& features,
                                             const std::vector<GraphLevel>& levels,
                                             const torch::Tensor& nodes) {
  return source_encoder->forward(encoder_inputs(features, levels, nodes), levels);
}

torch::Tensor MetaPinnImpl::pinn_weights(const torch::Tensor& c, const torch::Tensor& s) {
  return pinn_hyper->forward(torch::cat({c.unsqueeze(0).expand({s.size(0), c.size(0)}), s}, 1));
}

torch::Tensor MetaPinnImpl::velocity_weights(const torch::Tensor& c) {
  return velocity_hyper->forward(c.unsqueeze(0)).squeeze(0);
}

torch::Tensor MetaPinnImpl::source_points(const torch::Tensor& features, const torch::Tensor& nodes) const {
  torch::NoGradGuard guard;
  TORCH_CHECK(
      features.dim() == 3 && features.size(2) >= 2 && nodes.dim() == 2 && nodes.size(0) == features.size(1),
      "source_points: features must be [Q, N, 2] and nodes [N, 3]");
  constexpr double kSigma = 0.01;  // feature units: 1 % of the largest training time
  auto t = features.select(2, 0), mask = features.select(2, 1) > 0.5;
  auto t_masked = torch::where(mask, t, torch::full_like(t, INFINITY));
  auto t_min = std::get<0>(t_masked.min(1, /*keepdim=*/true));
  auto w = torch::softmax(-(t_masked - t_min) / kSigma, 1);  // [Q, N], 0 where unobserved
  w = torch::nan_to_num(w, 1.0 / double(nodes.size(0)));     // no observation: centroid
  return torch::matmul(w, nodes);                            // [Q, 3]
}

namespace {
/// The offsets r = x − x̂₀ [Q, M, 3] and distances d = sqrt(|r|² + ε²) [Q, M, 1] of the
/// source-distance input of T (ε = 0.01 in x' keeps ∇d finite at the source).
std::pair<torch::Tensor, torch::Tensor> source_offsets(const torch::Tensor& x, const torch::Tensor& sources) {
  TORCH_CHECK(sources.defined() && sources.dim() == 2 && sources.size(0) == x.size(0),
              "time: need one source point per query");
  auto r = x - sources.unsqueeze(1);
  return {r, torch::sqrt(r.pow(2).sum(-1, /*keepdim=*/true) + 1e-4)};
}
}  // namespace

torch::Tensor MetaPinnImpl::time(const torch::Tensor& x, const torch::Tensor& weights,
                                 const torch::Tensor& sources) const {
  torch::Tensor input = x;
  if (options.source_distance) input = torch::cat({x, source_offsets(x, sources).second}, -1);
  return functional::mlp(input, weights, options.pinn_sizes(), functional::Activation::kTanh).squeeze(-1);
}

std::pair<torch::Tensor, torch::Tensor> MetaPinnImpl::time_and_gradient(const torch::Tensor& x,
                                                                        const torch::Tensor& weights,
                                                                        const torch::Tensor& sources) const {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == 3, "time: x must be [Q, M, 3]");
  const int64_t Q = x.size(0), M = x.size(1);
  // Derivatives of the inputs along the three axes: [Q, 3, M, d0].
  auto eye = torch::eye(3, x.options()).view({1, 3, 1, 3}).expand({Q, 3, M, 3});
  torch::Tensor input = x, dinput = eye;
  if (options.source_distance) {
    const auto [r, d] = source_offsets(x, sources);
    input = torch::cat({x, d}, -1);
    dinput = torch::cat({eye, (r / d).transpose(1, 2).unsqueeze(-1)}, -1);  // ∂d/∂x_a = r_a / d
  }
  auto [T, dT] =
      functional::mlp_jvp(input, dinput, weights, options.pinn_sizes(), functional::Activation::kTanh);
  return {T.squeeze(-1), dT.squeeze(-1).transpose(1, 2)};
}

torch::Tensor MetaPinnImpl::speed_logits(const torch::Tensor& x, const torch::Tensor& weights) const {
  return options.velocity_steepness *
         functional::mlp(x, weights, options.velocity_sizes(), velocity_activation_).squeeze(-1);
}

torch::Tensor MetaPinnImpl::speed_of_logits(const torch::Tensor& logits) const {
  return (options.v_min + (options.v_max - options.v_min) * torch::sigmoid(logits)) / speed_scale;
}

torch::Tensor MetaPinnImpl::speed(const torch::Tensor& x, const torch::Tensor& weights) const {
  return speed_of_logits(speed_logits(x, weights));
}

EpisodeOutput MetaPinnImpl::run(const EpisodeInput& in, bool residual) {
  TORCH_CHECK(in.levels != nullptr, "episode: no graph levels");
  const auto& levels = *in.levels;
  const int64_t Q = in.query_features.size(0), N = in.nodes.size(0);
  auto c = context_embedding(in.context, levels, in.nodes);
  auto s = source_embedding(in.query_features, levels, in.nodes);
  auto wt = pinn_weights(c, s);
  auto wv = velocity_weights(c);

  EpisodeOutput out;
  torch::Tensor points = in.nodes;
  if (residual && in.extra_points.defined() && in.extra_points.size(0) > 0)
    points = torch::cat({in.nodes, in.extra_points}, 0);
  auto x = points.unsqueeze(0).expand({Q, points.size(0), 3});
  torch::Tensor sources;
  if (options.source_distance) sources = source_points(in.query_features, in.nodes);
  torch::Tensor T, gradient;
  if (residual)
    std::tie(T, gradient) = time_and_gradient(x, wt, sources);  // [Q, M], [Q, M, 3]
  else
    T = time(x, wt, sources);
  out.times = T.narrow(1, 0, N);
  auto logits = speed_logits(points, wv);
  auto v_points = speed_of_logits(logits);
  out.speed = v_points.narrow(0, 0, N);
  if (in.query_times.defined() && (in.supervised.defined() || in.observed.defined())) {
    auto mask = in.supervised.defined() ? in.supervised.to(T.dtype())
                                        : in.observed.to(T.dtype()).unsqueeze(0).expand({Q, N});  // [Q, N]
    auto diff2 = (out.times - in.query_times).pow(2) * mask;
    out.data_loss = diff2.sum() / mask.sum().clamp_min(1.0);
  }
  if (residual) {
    out.residual = functional::eikonal_residual(gradient, v_points.unsqueeze(0));
    out.pde_loss = out.residual.pow(2).mean();
    out.logit_penalty = functional::saturation_penalty(logits);
  }
  return out;
}

}  // namespace metaeik::metapinn
