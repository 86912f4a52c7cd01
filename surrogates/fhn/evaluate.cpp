#include "surrogates/fhn/evaluate.hpp"

#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "core/zip_check.hpp"

namespace metaeik::surrogates::fhn {

int network_inputs(const std::string& kind, const ProblemOptions& p) {
  if (kind == "itnn") return p.problem == "c" ? 3 : 2;
  return input_count(p);
}

torch::Tensor predict(FhnMlp& net, const std::string& kind, const ProblemOptions& p, const torch::Tensor& u0,
                      const torch::Tensor& w0, const torch::Tensor& k, int steps, double step) {
  const long n = u0.size(0);
  const auto opts = u0.options();
  if (kind == "itnn") {
    std::vector<torch::Tensor> out;
    torch::Tensor y = torch::stack({u0, w0}, 1);
    for (int s = 0; s < steps; ++s) {
      torch::Tensor x = p.problem == "c" ? torch::cat({y, k.unsqueeze(1)}, 1) : y;
      y = net->forward(x);
      out.push_back(y);
    }
    return torch::stack(out, 1);
  }
  const torch::Tensor t = torch::arange(1, steps + 1, opts) * step;  // steps
  std::vector<torch::Tensor> cols{t.repeat({n})};
  if (p.problem != "a") {
    cols.push_back(u0.repeat_interleave(steps));
    cols.push_back(w0.repeat_interleave(steps));
  }
  if (p.problem == "c") cols.push_back(k.repeat_interleave(steps));
  return net->forward(torch::stack(cols, 1)).view({n, steps, 2});
}

Validation validate(FhnMlp& net, const std::string& kind, const Dataset& data, double itnn_step) {
  torch::NoGradGuard no_grad;
  Validation v;
  double sum = 0;
  long count = 0;
  if (kind != "itnn") {
    const Samples& s = data.validation_samples;
    const long rows = static_cast<long>(s.rows());
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(s.x.data()), {rows, s.inputs}, torch::kFloat32);
    const torch::Tensor y = torch::from_blob(const_cast<float*>(s.y.data()), {rows, 2}, torch::kFloat32);
    for (long b = 0; b < rows; b += 65536) {
      const long e = std::min(rows, b + 65536);
      const torch::Tensor err = (net->forward(x.slice(0, b, e)) - y.slice(0, b, e)).abs();
      sum += err.sum().item<double>();
      v.max_error = std::max(v.max_error, err.max().item<double>());
      count += err.numel();
    }
    v.mae = sum / count;
    return v;
  }
  const Trajectories& t = data.validation;
  const long every = std::lround(itnn_step / t.store_dt);
  METAEIK_CHECK(every >= 1 && std::abs(every * t.store_dt - itnn_step) < 1e-9 && every < t.points,
                "train.itnn_step " << itnn_step << " must be a multiple of data.store_dt " << t.store_dt
                                   << " shorter than the trajectory");
  const int steps = static_cast<int>((t.points - 1) / every);
  auto vec = [](const std::vector<double>& a) {
    return torch::tensor(std::vector<float>(a.begin(), a.end()), torch::kFloat32);
  };
  const torch::Tensor pred =
      predict(net, kind, data.problem, vec(t.u0), vec(t.w0), vec(t.k), steps, itnn_step);
  std::vector<float> truth(std::size_t(t.count) * steps * 2);
  for (int j = 0; j < t.count; ++j)
    for (int s = 0; s < steps; ++s) {
      truth[(std::size_t(j) * steps + s) * 2] = static_cast<float>(t.u(j, (s + 1) * every));
      truth[(std::size_t(j) * steps + s) * 2 + 1] = static_cast<float>(t.w(j, (s + 1) * every));
    }
  const torch::Tensor y = torch::from_blob(truth.data(), {t.count, steps, 2}, torch::kFloat32);
  const torch::Tensor err = (pred - y).abs();
  const torch::Tensor finite = torch::isfinite(pred).all(2).all(1);  // n
  v.mae = err.mean().item<double>();
  v.max_error = err.max().item<double>();
  // Per trajectory: max error, last moves and the distance to the true end state.
  const torch::Tensor max_err = std::get<0>(err.view({t.count, -1}).max(1));
  const int tail = std::min(3, steps - 1);
  const torch::Tensor moves =
      tail > 0 ? std::get<0>((pred.slice(1, steps - tail, steps) - pred.slice(1, steps - tail - 1, steps - 1))
                                 .abs()
                                 .view({t.count, -1})
                                 .max(1))
               : torch::full({t.count}, 1.0);
  const torch::Tensor end_err = std::get<0>(err.select(1, steps - 1).max(1));
  v.rollout.rollouts = t.count;
  for (int j = 0; j < t.count; ++j) {
    const bool ok = finite[j].item<bool>();
    const bool settled = ok && moves[j].item<double>() < 1e-3;
    if (settled && end_err[j].item<double>() > 0.05)
      ++v.rollout.false_equilibria;
    else if (!ok || max_err[j].item<double>() > 0.1)
      ++v.rollout.diverged;
  }
  if (!std::isfinite(v.mae)) v.mae = std::numeric_limits<double>::infinity();
  return v;
}

double time_inference(FhnMlp& net, const std::string& kind, const ProblemOptions& p, int samples,
                      double duration, double itnn_step, const torch::Device& device, std::uint64_t seed) {
  METAEIK_CHECK(samples > 0 && duration > 0, "inference timing needs samples > 0 and duration > 0");
  torch::InferenceMode guard;
  std::vector<double> du0, dw0, dk;
  bench_starts(p, samples, seed, du0, dw0, dk);
  std::vector<float> u0(du0.begin(), du0.end()), w0(dw0.begin(), dw0.end()), k(dk.begin(), dk.end());
  const double step = kind == "itnn" ? itnn_step : 1.0;
  const int steps = static_cast<int>(std::lround(duration / step));
  auto on = [&](std::vector<float>& v) { return torch::tensor(v).to(device); };
  const torch::Tensor tu = on(u0), tw = on(w0), tk = on(k);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  predict(net, kind, p, tu.slice(0, 0, std::min(samples, 64)), tw.slice(0, 0, std::min(samples, 64)),
          tk.slice(0, 0, std::min(samples, 64)), steps, step);  // warm-up
  sync();
  core::Stopwatch watch;
  torch::Tensor out = predict(net, kind, p, tu, tw, tk, steps, step);
  sync();
  return watch.seconds();
}

BenchResult bench_run(const std::filesystem::path& run, const BenchOptions& o) {
  METAEIK_CHECK(std::filesystem::exists(run / "model.pt"), run.string()
                                                               << ": no model.pt (train a model first)");
  METAEIK_CHECK(o.samples > 0, "--samples: must be positive, got " << o.samples);
  METAEIK_CHECK(o.duration >= 1, "--duration: must be at least 1 ms, got " << o.duration);
  METAEIK_CHECK(o.device == "cpu" || o.device == "cuda",
                "--device: expected cpu or cuda, got \"" << o.device << "\"");
  METAEIK_CHECK(o.device == "cpu" || torch::cuda::is_available(),
                "--device cuda: LibTorch has no CUDA device here");
  BenchResult r;
  r.config = load_fhn_config(run / "config.json");
  const FhnConfig& c = r.config;
  const ProblemOptions p = resolve(c.problem);
  r.samples = o.samples, r.duration = o.duration;
  torch::set_num_threads(std::max(1, o.threads));
  core::set_blas_threads(std::max(1, o.threads));
  const int in = network_inputs(c.kind, p);
  FhnMlp net(Architecture::parse(c.architecture), std::vector<double>(in, 0.0), std::vector<double>(in, 1.0),
             std::vector<double>{1.0, 1.0});
  core::check_zip_archive(run / "model.pt");  // LibTorch's reader can crash on a damaged archive
  torch::load(net, (run / "model.pt").string());
  net->eval();
  const torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
  net->to(device);
  r.surrogate_seconds =
      time_inference(net, c.kind, p, o.samples, o.duration, c.train.itnn_step, device, o.seed);
  r.euler = time_euler(p, o.samples, o.duration, {0.1}, 0.01, o.threads, o.seed);
  // Errors against the reference, recomputed (cheap next to the timing).
  std::vector<double> u0, w0, k;
  bench_starts(p, o.samples, o.seed, u0, w0, k);
  const Trajectories ref =
      solve_trajectories(p, u0, w0, p.problem == "c" ? k : std::vector<double>{}, 0.01, 1.0, o.duration);
  torch::InferenceMode guard;
  auto vec = [&](const std::vector<double>& a) {
    return torch::tensor(std::vector<float>(a.begin(), a.end()), torch::kFloat32).to(device);
  };
  const double step = c.kind == "itnn" ? c.train.itnn_step : 1.0;
  const int steps = static_cast<int>(std::lround(o.duration / step));
  const torch::Tensor pred = predict(net, c.kind, p, vec(u0), vec(w0), vec(k), steps, step).to(torch::kCPU);
  const auto acc = pred.accessor<float, 3>();
  double sum = 0, sum_h = 0;
  long n = 0, n_h = 0;
  for (int j = 0; j < o.samples; ++j)
    for (int s = 0; s < steps; ++s) {
      const double t = (s + 1) * step;
      const int i = static_cast<int>(std::lround(t));
      if (i >= ref.points) continue;
      const double e = std::abs(acc[j][s][0] - ref.u(j, i)) + std::abs(acc[j][s][1] - ref.w(j, i));
      sum += e, n += 2;
      if (t <= p.horizon + 1e-9) sum_h += e, n_h += 2;
    }
  r.surrogate_mae = sum / std::max(1L, n);
  r.surrogate_mae_horizon = sum_h / std::max(1L, n_h);
  return r;
}

}  // namespace metaeik::surrogates::fhn
