#include "surrogates/fhn/mlp.hpp"

#include "core/error.hpp"

namespace metaeik::surrogates::fhn {

namespace {

torch::nn::AnyModule activation_module(Activation a) {
  switch (a) {
    case Activation::kReLU:
      return torch::nn::AnyModule(torch::nn::ReLU());
    case Activation::kTanh:
      return torch::nn::AnyModule(torch::nn::Tanh());
    case Activation::kSigmoid:
      return torch::nn::AnyModule(torch::nn::Sigmoid());
    case Activation::kLeakyReLU:
      return torch::nn::AnyModule(torch::nn::LeakyReLU());
    case Activation::kELU:
      return torch::nn::AnyModule(torch::nn::ELU());
    case Activation::kSiLU:
      return torch::nn::AnyModule(torch::nn::SiLU());
  }
  return torch::nn::AnyModule(torch::nn::Tanh());
}

torch::Tensor as_tensor(const std::vector<double>& v) {
  return torch::tensor(std::vector<float>(v.begin(), v.end()), torch::kFloat32);
}

}  // namespace

FhnMlpImpl::FhnMlpImpl(const Architecture& arch, const std::vector<double>& lo, const std::vector<double>& hi,
                       const std::vector<double>& scale) {
  METAEIK_CHECK(!arch.layers.empty(), "architecture has no hidden layers");
  METAEIK_CHECK(lo.size() == hi.size() && !lo.empty() && scale.size() == 2,
                "network input/output ranges mismatch");
  int in = static_cast<int>(lo.size());
  for (const auto& l : arch.layers) {
    net_->push_back(torch::nn::Linear(in, l.width));
    net_->push_back(activation_module(l.activation));
    in = l.width;
  }
  net_->push_back(torch::nn::Linear(in, 2));
  net_->push_back(torch::nn::Tanh());
  register_module("net", net_);
  std::vector<double> h = hi;
  for (std::size_t i = 0; i < h.size(); ++i)
    if (h[i] <= lo[i]) h[i] = lo[i] + 1;  // a constant input (e.g. k of a single trajectory)
  lo_ = register_buffer("lo", as_tensor(lo));
  hi_ = register_buffer("hi", as_tensor(h));
  scale_ = register_buffer("scale", as_tensor(scale));
}

torch::Tensor FhnMlpImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == lo_.size(0), "FhnMlp: expected N x ", lo_.size(0), " inputs, got ",
              x.sizes());
  const torch::Tensor z = (x - lo_) / (hi_ - lo_) * 2 - 1;
  return net_->forward(z) * scale_;
}

std::pair<torch::Tensor, torch::Tensor> rhs(const RhsCoefficients& r, double stim_per_k,
                                            const torch::Tensor& u, const torch::Tensor& w,
                                            const torch::Tensor& k) {
  torch::Tensor fu, fw;
  if (r.cubic) {
    fu = r.c * (u * (u - r.a) * (1 - u) - w + r.current);
    fw = r.e * u - r.g * w;
  } else {
    fu = r.c * (u - u.pow(3) / 3 - w) + r.current;
    fw = (u + r.a - r.b * w) / r.tau;
  }
  if (k.defined()) fu = fu + stim_per_k * k;
  return {fu, fw};
}

torch::Tensor norm_loss(const torch::Tensor& pred, const torch::Tensor& target) {
  return ((pred - target).pow(2).sum(1) + 1e-12).sqrt().mean();
}

std::pair<torch::Tensor, torch::Tensor> time_derivative(FhnMlp& net, const torch::Tensor& x0) {
  torch::Tensor x = x0.detach().requires_grad_(true);
  torch::Tensor y = net->forward(x);
  auto gu =
      torch::autograd::grad({y.select(1, 0).sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  auto gw =
      torch::autograd::grad({y.select(1, 1).sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return {y, torch::stack({gu.select(1, 0), gw.select(1, 0)}, 1)};
}

torch::Tensor physics_residual(FhnMlp& net, const torch::Tensor& x, const RhsCoefficients& r,
                               double stim_per_k) {
  auto [y, dy] = time_derivative(net, x);
  const torch::Tensor k = x.size(1) == 4 ? x.select(1, 3) : torch::Tensor();
  auto [fu, fw] = rhs(r, stim_per_k, y.select(1, 0), y.select(1, 1), k);
  return ((dy.select(1, 0) - fu).pow(2) + (dy.select(1, 1) - fw).pow(2)).mean();
}

}  // namespace metaeik::surrogates::fhn
