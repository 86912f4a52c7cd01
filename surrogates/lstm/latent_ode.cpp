#include "surrogates/lstm/latent_ode.hpp"

#include <cmath>

namespace metaeik::surrogates::lstm {

LatentOdeImpl::LatentOdeImpl(LatentOdeModuleOptions o) : options(std::move(o)) { reset(); }

void LatentOdeImpl::reset() {
  const auto& o = options;
  const int64_t in = o.frame_size() + o.extra_inputs();
  i2h = register_module("i2h", torch::nn::Linear(in + o.recognition_hidden(), o.recognition_hidden()));
  h2o = register_module("h2o", torch::nn::Linear(o.recognition_hidden(), 2 * o.latent()));
  f = register_module(
      "f", torch::nn::Sequential(torch::nn::Linear(o.latent(), o.ode_hidden()), torch::nn::ELU(),
                                 torch::nn::Linear(o.ode_hidden(), o.ode_hidden()), torch::nn::ELU(),
                                 torch::nn::Linear(o.ode_hidden(), o.latent())));
  decoder = register_module(
      "decoder", torch::nn::Sequential(torch::nn::Linear(o.latent(), o.decoder_hidden()), torch::nn::ReLU(),
                                       torch::nn::Linear(o.decoder_hidden(), o.frame_size())));
  mean = register_buffer("mean", torch::zeros({o.variables()}));
  std = register_buffer("std", torch::ones({o.variables()}));
  min = register_buffer("min", -torch::ones({o.variables()}));
  max = register_buffer("max", torch::ones({o.variables()}));
}

std::tuple<torch::Tensor, torch::Tensor> LatentOdeImpl::encode(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options.frame_size() + options.extra_inputs(),
              "LatentOde: input must be [batch, steps, ", options.frame_size() + options.extra_inputs(),
              "], got ", x.sizes());
  auto h = torch::zeros({x.size(0), options.recognition_hidden()}, x.options());
  for (int64_t t = x.size(1) - 1; t >= 0; --t)
    h = torch::tanh(i2h->forward(torch::cat({x.select(1, t), h}, 1)));
  const auto out = h2o->forward(h);
  return {out.narrow(1, 0, options.latent()), out.narrow(1, options.latent(), options.latent())};
}

torch::Tensor LatentOdeImpl::dynamics(const torch::Tensor& z) { return f->forward(z); }

torch::Tensor LatentOdeImpl::decode_trajectory(const torch::Tensor& z0, const std::vector<double>& times,
                                               const DopriOptions& ode, DopriStats* stats) {
  const auto z =
      odeint_dopri5([this](double, const torch::Tensor& y) { return dynamics(y); }, z0, times, ode, stats);
  return decoder->forward(z).transpose(0, 1);  // [times, batch, D] → [batch, times, D]
}

torch::Tensor negative_elbo(const torch::Tensor& x, const torch::Tensor& x_hat, const torch::Tensor& mu,
                            const torch::Tensor& logvar, double obs_std) {
  const double var = obs_std * obs_std;
  const auto nll = 0.5 * ((x - x_hat).pow(2) / var + std::log(2 * M_PI * var)).flatten(1).sum(1);
  const auto kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1);
  return (nll + kl).mean();
}

}  // namespace metaeik::surrogates::lstm
