#include "surrogates/aphyn/hybrid.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::surrogates::aphyn {

namespace functional {
std::pair<torch::Tensor, torch::Tensor> ms_rhs(const torch::Tensor& v, const torch::Tensor& h,
                                               const torch::Tensor& tau_in, const torch::Tensor& tau_out,
                                               const torch::Tensor& tau_open, const torch::Tensor& tau_close,
                                               double v_gate, double j_stim) {
  auto dv = h * v * v * (1 - v) / tau_in - v / tau_out;
  if (j_stim != 0) dv = dv + j_stim;
  auto dh = torch::where(v < v_gate, (1 - h) / tau_open, -h / tau_close);
  return {dv, dh};
}
}  // namespace functional

FdlNetImpl::FdlNetImpl(int filters, int blocks, double gain) {
  auto init = [](torch::nn::Linear& l, double g) {
    torch::NoGradGuard ng;
    torch::nn::init::orthogonal_(l->weight, g);
    l->bias.zero_();
  };
  input_ = register_module("input", torch::nn::Linear(2, filters));
  init(input_, gain);
  for (int b = 0; b < blocks; ++b) {
    block_a_.push_back(
        register_module("block" + std::to_string(b) + "_a", torch::nn::Linear(filters, filters)));
    block_b_.push_back(
        register_module("block" + std::to_string(b) + "_b", torch::nn::Linear(filters, filters)));
    init(block_a_.back(), gain);
    init(block_b_.back(), gain);
  }
  output_ = register_module("output", torch::nn::Linear(filters, 1));
  init(output_, gain * gain);
}

torch::Tensor FdlNetImpl::forward(const torch::Tensor& vh) {
  TORCH_CHECK(vh.dim() == 2 && vh.size(1) == 2, "F_dl expects B×2 (v, h), got ", vh.sizes());
  auto x = input_->forward(vh);
  for (std::size_t b = 0; b < block_a_.size(); ++b)
    x = x + block_b_[b]->forward(torch::relu(block_a_[b]->forward(x)));
  return output_->forward(torch::relu(x));
}

HybridModelImpl::HybridModelImpl(const ModelOptions& o) : options_(o) {
  auto make = [&](const std::string& name, double value) {
    auto t = torch::full({}, std::log(value), torch::kDouble);
    const bool learn = std::find(o.learn.begin(), o.learn.end(), name) != o.learn.end();
    return learn ? register_parameter("log_" + name, t) : register_buffer("log_" + name, t);
  };
  log_tau_in_ = make("tau_in", o.tau_in);
  log_tau_out_ = make("tau_out", o.tau_out);
  log_tau_close_ = make("tau_close", o.tau_close);
  log_tau_open_ = register_buffer("log_tau_open", torch::full({}, std::log(o.tau_open), torch::kDouble));
  if (o.fdl) {
    fdl_ = register_module("fdl", FdlNet(o.fdl_filters, o.fdl_blocks, o.fdl_init_gain));
    fdl_->to(torch::kDouble);
  }
}

torch::Tensor HybridModelImpl::tau(const std::string& name) const {
  if (name == "tau_in") return log_tau_in_.exp();
  if (name == "tau_out") return log_tau_out_.exp();
  if (name == "tau_close") return log_tau_close_.exp();
  if (name == "tau_open") return log_tau_open_.exp();
  METAEIK_FAIL("unknown time constant \"" << name << "\"");
}

std::vector<torch::Tensor> HybridModelImpl::tau_parameters() const {
  std::vector<torch::Tensor> p;
  for (auto* t : {&log_tau_in_, &log_tau_out_, &log_tau_close_})
    if (t->requires_grad()) p.push_back(*t);
  return p;
}

std::vector<torch::Tensor> HybridModelImpl::fdl_parameters() const {
  return has_fdl() ? fdl_->parameters() : std::vector<torch::Tensor>{};
}

std::vector<torch::Tensor> HybridModelImpl::rhs(const torch::Tensor& v, const torch::Tensor& h, double t) {
  const double j = t < options_.stim_duration ? options_.stim_amplitude : 0.0;
  auto [fp_v, fp_h] = functional::ms_rhs(v, h, log_tau_in_.exp(), log_tau_out_.exp(), log_tau_open_.exp(),
                                         log_tau_close_.exp(), options_.v_gate, j);
  return {fp_v, has_fdl() ? fdl(v, h) : torch::Tensor(), fp_h};
}

torch::Tensor HybridModelImpl::fdl(const torch::Tensor& v, const torch::Tensor& h) {
  return fdl_->forward(torch::stack({v, h}, 1)).squeeze(1);
}

TraceBatch make_batch(const std::vector<Trace>& traces, double dt) {
  METAEIK_CHECK(!traces.empty(), "no traces");
  std::size_t K = 0;
  double t_max = 0;
  for (const auto& tr : traces) {
    K = std::max(K, tr.t.size());
    t_max = std::max(t_max, tr.t.back());
  }
  const auto B = static_cast<std::int64_t>(traces.size());
  TraceBatch b;
  b.n_steps = static_cast<int>(std::lround(t_max / dt));
  b.v0 = torch::empty({B}, torch::kDouble);
  b.target = torch::zeros({B, static_cast<std::int64_t>(K)}, torch::kDouble);
  b.steps = torch::zeros({B, static_cast<std::int64_t>(K)}, torch::kLong);
  b.mask = torch::zeros({B, static_cast<std::int64_t>(K)}, torch::kDouble);
  auto v0 = b.v0.accessor<double, 1>();
  auto target = b.target.accessor<double, 2>();
  auto steps = b.steps.accessor<std::int64_t, 2>();
  auto mask = b.mask.accessor<double, 2>();
  for (std::int64_t i = 0; i < B; ++i) {
    const auto& tr = traces[i];
    v0[i] = tr.v[0];
    for (std::size_t k = 0; k < tr.t.size(); ++k) {
      target[i][k] = tr.v[k];
      steps[i][k] = std::min<std::int64_t>(b.n_steps, std::lround(tr.t[k] / dt));
      mask[i][k] = k > 0 ? 1.0 : 0.0;
    }
  }
  return b;
}

TraceBatch truncate(const TraceBatch& b, int n_steps) {
  if (n_steps >= b.n_steps) return b;
  TraceBatch t = b;
  t.n_steps = n_steps;
  t.mask = b.mask * (b.steps <= n_steps).to(torch::kDouble);
  t.steps = b.steps.clamp_max(n_steps);
  return t;
}

TraceBatch select(const TraceBatch& b, const torch::Tensor& index) {
  TraceBatch s;
  s.v0 = b.v0.index_select(0, index);
  s.target = b.target.index_select(0, index);
  s.steps = b.steps.index_select(0, index);
  s.mask = b.mask.index_select(0, index);
  s.n_steps = b.n_steps;
  return s;
}

Forecast forecast(HybridModel& model, const TraceBatch& batch, bool keep_split) {
  const ModelOptions& o = model->options();
  const double dt = o.dt;
  const auto B = batch.v0.size(0);
  // The MS coefficients once per forecast: dv = v (h (v − v²) a − b) + J, dh as in functional::ms_rhs.
  const auto a = 1 / model->tau("tau_in"), b = 1 / model->tau("tau_out");
  const auto c = dt / model->tau("tau_open"), d = 1 - dt / model->tau("tau_close");
  const bool with_fdl = model->has_fdl();
  auto v = batch.v0;
  auto h = torch::ones({B}, torch::kDouble);
  std::vector<torch::Tensor> vs{v}, fdls, ip, id;
  torch::Tensor cum_p = torch::zeros({B}, torch::kDouble), cum_d = torch::zeros({B}, torch::kDouble);
  if (keep_split) {
    ip.push_back(cum_p);
    id.push_back(cum_d);
  }
  for (int s = 0; s < batch.n_steps; ++s) {
    auto fp = v * (h * (v - v * v) * a - b);
    if (s * dt < o.stim_duration) fp = fp + o.stim_amplitude;
    torch::Tensor fd = with_fdl ? model->fdl(v, h) : torch::Tensor();
    if (keep_split) {
      cum_p = cum_p + dt * fp;
      if (with_fdl) cum_d = cum_d + dt * fd;
      ip.push_back(cum_p);
      id.push_back(cum_d);
    }
    auto h_next = torch::where(v < o.v_gate, h + (1 - h) * c, h * d);
    v = with_fdl ? v.add(fp, dt).add_(fd, dt) : v.add(fp, dt);
    h = h_next;
    vs.push_back(v);
    if (with_fdl) fdls.push_back(fd);
  }
  Forecast f;
  f.v = torch::stack(vs, 1).gather(1, batch.steps);  // B × (S+1) → B × K
  f.l_traj = ((f.v - batch.target).square() * batch.mask).sum() / batch.mask.sum().clamp_min(1);
  f.fdl_norm2 =
      with_fdl && !fdls.empty() ? torch::stack(fdls, 0).square().mean() : torch::zeros({}, torch::kDouble);
  if (keep_split) {
    f.fp_integral = torch::stack(ip, 1).gather(1, batch.steps);
    f.fdl_integral = torch::stack(id, 1).gather(1, batch.steps);
  }
  return f;
}

torch::Tensor hybrid_loss(const Forecast& f, double lambda) {
  auto loss = lambda * f.l_traj;
  if (f.fdl_norm2.requires_grad()) loss = loss + (f.fdl_norm2 + 1e-12).sqrt();
  return loss;
}

}  // namespace metaeik::surrogates::aphyn
