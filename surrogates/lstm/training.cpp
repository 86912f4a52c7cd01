#include "surrogates/lstm/training.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "core/zip_check.hpp"
#include "surrogates/lstm/latent_ode.hpp"
#include "surrogates/lstm/lstm_simulator.hpp"

namespace metaeik::surrogates::lstm {

namespace {

constexpr int64_t kPhaseInputs = 3;

/// What a run was trained on (config.json "data").
struct RunData {
  std::size_t frames = 0, train_end = 0, validation_start = 0, nodes = 0;
  double interval_ms = 1;
  std::vector<std::string> variables;
  int64_t frame_size() const { return static_cast<int64_t>(variables.size() * nodes); }
};

/// Either model behind one interface for saving and loading.
struct Model {
  LstmSimulator lstm{nullptr};
  LatentOde ode{nullptr};
  torch::nn::Module& module() { return lstm ? static_cast<torch::nn::Module&>(*lstm) : *ode; }
  void set_stats(const AttributeStats& s) {
    auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat); };
    torch::NoGradGuard ng;
    auto put = [&](torch::Tensor& mean, torch::Tensor& std, torch::Tensor& min, torch::Tensor& max) {
      mean.copy_(t(s.mean)), std.copy_(t(s.std)), min.copy_(t(s.min)), max.copy_(t(s.max));
    };
    if (lstm)
      put(lstm->mean, lstm->std, lstm->min, lstm->max);
    else
      put(ode->mean, ode->std, ode->min, ode->max);
  }
  AttributeStats stats() {
    auto v = [](const torch::Tensor& x) {
      auto c = x.to(torch::kDouble).contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    AttributeStats s;
    if (lstm)
      s = {v(lstm->mean), v(lstm->std), v(lstm->min), v(lstm->max)};
    else
      s = {v(ode->mean), v(ode->std), v(ode->min), v(ode->max)};
    return s;
  }
};

Model make_model(const LstmRunConfig& cfg, const RunData& d) {
  const int64_t extra = cfg.phase.enabled ? kPhaseInputs : 0;
  const auto nv = static_cast<int64_t>(d.variables.size());
  Model m;
  if (cfg.model == "lstm") {
    m.lstm = LstmSimulator(LstmSimulatorOptions(d.frame_size(), nv)
                               .extra_inputs(extra)
                               .hidden(cfg.lstm.hidden)
                               .layers(cfg.lstm.layers)
                               .dropout(cfg.lstm.dropout));
  } else {
    m.ode = LatentOde(LatentOdeModuleOptions(d.frame_size(), nv)
                          .extra_inputs(extra)
                          .latent(cfg.latent_ode.latent)
                          .ode_hidden(cfg.latent_ode.ode_hidden)
                          .recognition_hidden(cfg.latent_ode.recognition_hidden)
                          .decoder_hidden(cfg.latent_ode.decoder_hidden));
  }
  return m;
}

core::Json run_data_json(const RunData& d, const std::filesystem::path& data_dir) {
  return {{"dir", std::filesystem::absolute(data_dir).string()},
          {"frames", d.frames},
          {"train_end", d.train_end},
          {"validation_start", d.validation_start},
          {"nodes", d.nodes},
          {"interval_ms", d.interval_ms},
          {"variables", d.variables}};
}

RunData read_run_data(const std::filesystem::path& run_dir) {
  const auto path = run_dir / "config.json";
  METAEIK_CHECK(std::filesystem::is_regular_file(path), path.string()
                                                            << ": not found (not a run directory?)");
  const auto j = core::load_json_file(path);
  METAEIK_CHECK(j.contains("data") && j.at("data").is_object(), path.string() << ": key 'data' is missing");
  const auto& dj = j.at("data");
  RunData d;
  try {
    d.frames = dj.at("frames").get<std::size_t>();
    d.train_end = dj.at("train_end").get<std::size_t>();
    d.validation_start = dj.at("validation_start").get<std::size_t>();
    d.nodes = dj.at("nodes").get<std::size_t>();
    d.interval_ms = dj.at("interval_ms").get<double>();
    d.variables = dj.at("variables").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    METAEIK_FAIL(path.string() << ": key 'data' is incomplete (" << e.what() << ")");
  }
  return d;
}

torch::Tensor to_tensor(std::vector<float> v, int64_t rows, int64_t cols) {
  return torch::from_blob(v.data(), {rows, cols}, torch::kFloat).clone();
}

/// Phase features of frames [first, first + count) → [count, 3] (empty [count, 0] when off).
torch::Tensor phase_tensor(const PhaseOptions& p, double interval_ms, std::size_t first, std::size_t count) {
  if (!p.enabled) return torch::zeros({static_cast<int64_t>(count), 0});
  std::vector<float> v;
  v.reserve(count * kPhaseInputs);
  for (std::size_t f = first; f < first + count; ++f) {
    const auto x = phase_features(p, f * interval_ms);
    v.insert(v.end(), x.begin(), x.end());
  }
  return to_tensor(std::move(v), static_cast<int64_t>(count), kPhaseInputs);
}

/// Loss weights of frames [0, count) as targets (stimulus_weight of each frame's time).
torch::Tensor stimulus_weights(const PhaseOptions& p, double interval_ms, std::size_t count, double weight,
                               double ms) {
  std::vector<float> v(count);
  for (std::size_t f = 0; f < count; ++f)
    v[f] = static_cast<float>(stimulus_weight(p, f * interval_ms, weight, ms));
  return to_tensor(std::move(v), static_cast<int64_t>(count), 1);
}

struct Checkpoint {
  int epoch = 0;        ///< epochs completed
  long long batch = 0;  ///< batches done in the current epoch
  long long steps = 0;
};

void save_checkpoint(const std::filesystem::path& path, Model& m, torch::optim::Adam& opt,
                     const Checkpoint& c) {
  core::write_atomically(path, [&](const std::filesystem::path& tmp) {
    torch::serialize::OutputArchive a, ma, oa;
    m.module().save(ma);
    opt.save(oa);
    a.write("model", ma);
    a.write("optimizer", oa);
    a.write("epoch", torch::tensor(static_cast<int64_t>(c.epoch)));
    a.write("batch", torch::tensor(static_cast<int64_t>(c.batch)));
    a.write("steps", torch::tensor(static_cast<int64_t>(c.steps)));
    a.save_to(tmp.string());
  });
}

Checkpoint load_checkpoint(const std::filesystem::path& path, Model& m, torch::optim::Adam* opt) {
  METAEIK_CHECK(std::filesystem::is_regular_file(path), path.string() << ": not found");
  torch::serialize::InputArchive a, ma, oa;
  try {
    core::check_zip_archive(path);  // LibTorch's reader can crash on a damaged archive
    a.load_from(path.string());
    a.read("model", ma);
    m.module().load(ma);
    if (opt) {
      a.read("optimizer", oa);
      opt->load(oa);
    }
  } catch (const c10::Error& e) {
    METAEIK_FAIL(path.string() << ": not a checkpoint of this model (" << std::string(e.what()).substr(0, 200)
                               << ")");
  }
  torch::Tensor e, b, s;
  a.read("epoch", e);
  a.read("batch", b);
  a.read("steps", s);
  return {static_cast<int>(e.item<int64_t>()), b.item<int64_t>(), s.item<int64_t>()};
}

/// The training problem: z-scored frames of the training part and their phase features.
struct Problem {
  torch::Tensor z;       ///< [train_end, frame_size]
  torch::Tensor phase;   ///< [train_end, 0 or 3]
  torch::Tensor weight;  ///< [train_end, 1] loss weight of each frame as a target (undefined: all 1)
  std::vector<std::size_t> train, validation;  ///< window starts
  int window = 0;
  double dt = 0;  ///< latent ODE time between frames
};

torch::Tensor window_inputs(const Problem& p, const std::vector<std::size_t>& starts, int64_t len) {
  std::vector<torch::Tensor> xs;
  for (auto s : starts)
    xs.push_back(torch::cat(
        {p.z.narrow(0, static_cast<int64_t>(s), len), p.phase.narrow(0, static_cast<int64_t>(s), len)}, 1));
  return torch::stack(xs);
}
torch::Tensor window_frames(const Problem& p, const std::vector<std::size_t>& starts, int64_t offset,
                            int64_t len) {
  std::vector<torch::Tensor> xs;
  for (auto s : starts) xs.push_back(p.z.narrow(0, static_cast<int64_t>(s) + offset, len));
  return torch::stack(xs);
}

torch::Tensor window_weights(const Problem& p, const std::vector<std::size_t>& starts, int64_t len) {
  std::vector<torch::Tensor> xs;
  for (auto s : starts) xs.push_back(p.weight.narrow(0, static_cast<int64_t>(s) + 1, len));
  return torch::stack(xs);
}

std::vector<double> ode_times(std::size_t n, double dt) {
  std::vector<double> t(n);
  for (std::size_t k = 0; k < n; ++k) t[k] = k * dt;
  return t;
}

/// Loss of one batch; `mse` receives the frame MSE (teacher-forced / reconstruction with μ).
torch::Tensor batch_loss(Model& m, const LstmRunConfig& cfg, const Problem& p,
                         const std::vector<std::size_t>& starts, bool sample, double* mse) {
  const int64_t w = p.window;
  if (m.lstm) {
    auto x = window_inputs(p, starts, w - 1);
    const auto y = window_frames(p, starts, 1, w - 1);
    if (sample && cfg.lstm.input_noise > 0) {  // noise on the frame inputs only, not on the phase
      auto noise = torch::zeros_like(x);
      noise.narrow(2, 0, y.size(2)).normal_(0, cfg.lstm.input_noise);
      x = x + noise;
    }
    const int64_t free = sample ? std::min<int64_t>(cfg.lstm.free_run_steps, w - 2) : 0;
    auto [pred, state] = m.lstm->forward(free > 0 ? x.narrow(1, 0, w - 1 - free) : x);
    if (free > 0) {  // feed predictions back for the last `free` steps (gradients through the feedback)
      const int64_t tf = w - 1 - free, D = y.size(2);
      std::vector<torch::Tensor> out{pred};
      torch::Tensor next = pred.narrow(1, tf - 1, 1);
      for (int64_t k = 0; k < free; ++k) {
        const auto in = torch::cat({next, x.narrow(1, tf + k, 1).narrow(2, D, x.size(2) - D)}, 2);
        auto [y1, s1] = m.lstm->forward(in, state);
        state = s1;
        next = y1;
        out.push_back(y1);
      }
      pred = torch::cat(out, 1);
    }
    auto loss = torch::mse_loss(pred, y);
    if (mse) *mse = loss.item<double>();
    if (!p.weight.defined()) return loss;
    const auto wt = window_weights(p, starts, w - 1);
    return ((pred - y).square() * wt).mean() / wt.mean();
  }
  const auto x = window_inputs(p, starts, w);
  const auto y = window_frames(p, starts, 0, w);
  auto [mu, logvar] = m.ode->encode(x);
  const auto z0 = sample ? mu + torch::randn_like(mu) * torch::exp(0.5 * logvar) : mu;
  DopriOptions ode;
  ode.rtol = cfg.latent_ode.rtol;
  ode.atol = cfg.latent_ode.atol;
  const auto x_hat = m.ode->decode_trajectory(z0, ode_times(static_cast<std::size_t>(w), p.dt), ode);
  if (mse) *mse = torch::mse_loss(x_hat, y).item<double>();
  return negative_elbo(y, x_hat, mu, logvar, cfg.latent_ode.obs_std);
}

double validation_mse(Model& m, const LstmRunConfig& cfg, const Problem& p, int batch_size) {
  if (p.validation.empty()) return std::numeric_limits<double>::quiet_NaN();
  torch::NoGradGuard ng;
  m.module().eval();
  double sum = 0;
  for (std::size_t b = 0; b < p.validation.size(); b += batch_size) {
    std::vector<std::size_t> starts(p.validation.begin() + b,
                                    p.validation.begin() + std::min(p.validation.size(), b + batch_size));
    double mse = 0;
    batch_loss(m, cfg, p, starts, false, &mse);
    sum += mse * starts.size();
  }
  m.module().train();
  return sum / p.validation.size();
}

}  // namespace

double stimulus_weight(const PhaseOptions& p, double t_ms, double weight, double ms) {
  const double u = t_ms - p.stimulus_start_ms;
  const double since = u - std::floor(u / p.period_ms) * p.period_ms;  // since the last onset
  return u > 1e-9 && since > 1e-9 && since <= ms + 1e-9 ? weight : 1.0;
}

std::vector<float> phase_features(const PhaseOptions& p, double t_ms) {
  const double u = t_ms - p.stimulus_start_ms;
  const double phase = u - std::floor(u / p.period_ms) * p.period_ms;  // in [0, period)
  const bool on = u >= -1e-9 && phase < p.stimulus_duration_ms - 1e-9;
  const double a = 2 * M_PI * phase / p.period_ms;
  return {on ? 1.0f : 0.0f, static_cast<float>(std::sin(a)), static_cast<float>(std::cos(a))};
}

LstmRunConfig load_run_config(const std::filesystem::path& run_dir) {
  const auto path = run_dir / "config.json";
  METAEIK_CHECK(std::filesystem::is_regular_file(path), path.string()
                                                            << ": not found (not a run directory?)");
  const auto j = core::load_json_file(path);
  METAEIK_CHECK(j.contains("config"), path.string() << ": key 'config' is missing");
  return read_lstm_config(j.at("config"), path.string() + " config");
}

std::size_t run_test_start(const std::filesystem::path& run_dir) { return read_run_data(run_dir).train_end; }

TrainSummary train_model(const LstmRunConfig& cfg_in, const std::filesystem::path& data_dir,
                         const std::filesystem::path& run_dir, bool resume, int epochs) {
  core::Stopwatch clock;
  LstmRunConfig cfg = resume ? load_run_config(run_dir) : cfg_in;
  if (!resume)
    METAEIK_CHECK(!std::filesystem::exists(run_dir / "config.json"),
                  run_dir.string() << ": already holds a run (use --resume, or another -o)");
  int& total_epochs = cfg.model == "lstm" ? cfg.lstm.epochs : cfg.latent_ode.epochs;
  if (epochs > 0) total_epochs = epochs;
  const int batch_size = cfg.model == "lstm" ? cfg.lstm.batch_size : cfg.latent_ode.batch_size;
  const double lr = cfg.model == "lstm" ? cfg.lstm.lr : cfg.latent_ode.lr;
  if (cfg.train.threads > 0) {
    torch::set_num_threads(cfg.train.threads);
    core::set_blas_threads(cfg.train.threads);
  }
  torch::manual_seed(cfg.train.seed);

  const StatesData data = load_states(data_dir, cfg.data.variables);
  const TimeSplit split = split_frames(data.frames, cfg.data.train_fraction);
  RunData rd;
  rd.frames = data.frames;
  rd.train_end = split.train_end;
  rd.validation_start =
      split.train_end - static_cast<std::size_t>(std::floor(cfg.data.validation_fraction * split.train_end));
  rd.nodes = data.nodes;
  rd.interval_ms = data.interval_ms;
  rd.variables = data.variables;
  if (resume) {
    const RunData old = read_run_data(run_dir);
    METAEIK_CHECK(old.frames == rd.frames && old.nodes == rd.nodes && old.variables == rd.variables,
                  data_dir.string() << ": not the data the run in " << run_dir.string() << " was trained on ("
                                    << old.frames << " frames of " << old.nodes << " nodes expected)");
  }

  Problem p;
  p.window = cfg.model == "latent-ode" && cfg.latent_ode.window > 0 ? cfg.latent_ode.window : cfg.data.window;
  const int max_windows = cfg.model == "latent-ode" && cfg.latent_ode.max_windows > 0
                              ? cfg.latent_ode.max_windows
                              : cfg.data.max_windows;
  p.train = window_starts(0, rd.validation_start, p.window, cfg.data.stride, max_windows, cfg.train.seed);
  p.validation =
      even_window_starts(rd.validation_start, rd.train_end, p.window, cfg.data.max_validation_windows);
  p.dt = data.interval_ms / cfg.latent_ode.time_scale_ms;
  const AttributeStats stats = attribute_stats(data, split.train_end);
  p.z = to_tensor(zscore_frames(data, stats, 0, split.train_end), static_cast<int64_t>(split.train_end),
                  static_cast<int64_t>(data.frame_size()));
  p.phase = phase_tensor(cfg.phase, data.interval_ms, 0, split.train_end);
  if (cfg.model == "lstm" && cfg.lstm.stimulus_weight != 1)
    p.weight = stimulus_weights(cfg.phase, data.interval_ms, split.train_end, cfg.lstm.stimulus_weight,
                                cfg.lstm.stimulus_weight_ms);
  spdlog::info(
      "lstm train: {} on {} frames ({} train, {} test), {} training windows of {} frames, {} validation",
      cfg.model, data.frames, rd.validation_start, data.frames - split.train_end, p.train.size(), p.window,
      p.validation.size());

  Model m = make_model(cfg, rd);
  m.set_stats(stats);
  torch::optim::Adam opt(m.module().parameters(), torch::optim::AdamOptions(lr));
  Checkpoint ck;
  std::filesystem::create_directories(run_dir);
  const auto last = run_dir / "last.pt";
  const auto log_path = run_dir / "log.csv";
  if (resume) {
    ck = load_checkpoint(last, m, &opt);
    core::trim_log(log_path, 1, ck.steps);  // rows are written before each checkpoint
    spdlog::info("resuming {} at epoch {} batch {}", run_dir.string(), ck.epoch, ck.batch);
  } else {
    core::save_json_file(run_dir / "config.json",
                         {{"config", to_json(cfg)}, {"data", run_data_json(rd, data_dir)}});
    core::write_file_atomically(
        log_path, [](std::ostream& os) { os << "epoch,step,train_loss,validation_loss,lr,seconds\n"; });
  }
  if (resume) {  // the stored config now has the new epoch count
    auto j = core::load_json_file(run_dir / "config.json");
    j["config"] = to_json(cfg);
    core::save_json_file(run_dir / "config.json", j);
  }
  std::ofstream log(log_path, std::ios::app);
  METAEIK_CHECK(log, log_path.string() << ": cannot append");

  TrainSummary sum;
  m.module().train();
  const std::size_t batches = (p.train.size() + batch_size - 1) / batch_size;
  for (int epoch = ck.epoch; epoch < total_epochs; ++epoch) {
    std::vector<std::size_t> order = p.train;
    auto rng = core::make_rng(cfg.train.seed, 1000 + epoch);
    std::shuffle(order.begin(), order.end(), rng);
    core::ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(total_epochs), batches);
    double loss_sum = 0;
    long long loss_n = 0;
    double interval_sum = 0;
    long long interval_n = 0;
    if (ck.batch > 0) bar.advance(static_cast<std::size_t>(ck.batch));
    for (std::size_t b = static_cast<std::size_t>(ck.batch); b < batches; ++b) {
      std::vector<std::size_t> starts(order.begin() + b * batch_size,
                                      order.begin() + std::min(order.size(), (b + 1) * batch_size));
      opt.zero_grad();
      double mse = 0;
      auto loss = batch_loss(m, cfg, p, starts, true, &mse);
      METAEIK_CHECK(std::isfinite(loss.item<double>()),
                    "training diverged (loss " << loss.item<double>() << ") at epoch " << epoch + 1);
      loss.backward();
      if (cfg.train.clip_norm > 0)
        torch::nn::utils::clip_grad_norm_(m.module().parameters(), cfg.train.clip_norm);
      opt.step();
      ++ck.steps;
      loss_sum += loss.item<double>(), ++loss_n;
      interval_sum += loss.item<double>(), ++interval_n;
      bar.set_status("loss " + std::to_string(loss.item<double>()));
      bar.advance();
      ck.batch = static_cast<long long>(b) + 1;
      if (ck.batch % cfg.train.checkpoint_every == 0 && b + 1 < batches) {
        log << epoch + 1 << "," << ck.steps << "," << interval_sum / interval_n << ",," << lr << ","
            << clock.seconds() << "\n"
            << std::flush;
        save_checkpoint(last, m, opt, ck);
        interval_sum = 0, interval_n = 0;
      }
    }
    bar.finish();
    const double val = validation_mse(m, cfg, p, batch_size);
    ck.epoch = epoch + 1;
    ck.batch = 0;
    sum.train_loss = loss_n ? loss_sum / loss_n : std::numeric_limits<double>::quiet_NaN();
    sum.validation_loss = val;
    log << ck.epoch << "," << ck.steps << "," << (interval_n ? interval_sum / interval_n : sum.train_loss)
        << "," << val << "," << lr << "," << clock.seconds() << "\n"
        << std::flush;
    save_checkpoint(last, m, opt, ck);
    spdlog::info("epoch {}: train loss {:.5g}, validation MSE {:.5g} (z-score units), {:.0f} s", ck.epoch,
                 sum.train_loss, val, clock.seconds());
  }
  sum.epochs = ck.epoch;
  sum.steps = ck.steps;
  sum.seconds = clock.seconds();
  return sum;
}

Rollout simulate_model(const std::filesystem::path& run_dir, const StatesData& data, std::size_t start,
                       std::size_t warmup, std::size_t steps, int threads) {
  const LstmRunConfig cfg = load_run_config(run_dir);
  const RunData rd = read_run_data(run_dir);
  METAEIK_CHECK(data.variables == rd.variables && data.nodes == rd.nodes,
                "the data do not match the run in " << run_dir.string() << " (" << rd.variables.size()
                                                    << " variables of " << rd.nodes << " nodes expected)");
  if (start == 0) start = rd.train_end;
  METAEIK_CHECK(warmup >= 1, "--warmup must be at least 1 frame");
  METAEIK_CHECK(steps >= 1, "--steps must be at least 1");
  METAEIK_CHECK(warmup <= start,
                "--warmup " << warmup << " reaches before the first frame (start " << start << ")");
  METAEIK_CHECK(start <= data.frames,
                "start frame " << start << " is past the data (" << data.frames << " frames)");
  if (threads > 0) {
    torch::set_num_threads(threads);
    core::set_blas_threads(threads);
  }
  torch::NoGradGuard ng;
  Model m = make_model(cfg, rd);
  load_checkpoint(run_dir / "last.pt", m, nullptr);
  m.module().eval();

  Rollout r;
  r.model = cfg.model;
  r.first_frame = start;
  r.steps = steps;
  r.warmup = warmup;
  r.stats = m.stats();
  const auto D = static_cast<int64_t>(data.frame_size());
  const auto nv = static_cast<int64_t>(data.variables.size());
  const auto n = static_cast<int64_t>(data.nodes);
  const auto x =
      torch::cat(
          {to_tensor(zscore_frames(data, r.stats, start - warmup, warmup), static_cast<int64_t>(warmup), D),
           phase_tensor(cfg.phase, data.interval_ms, start - warmup, warmup)},
          1)
          .unsqueeze(0);
  const auto future_phase = phase_tensor(cfg.phase, data.interval_ms, start, steps);
  torch::Tensor pred;
  core::Stopwatch clock;
  if (m.lstm) {
    auto [y, state] = m.lstm->forward(x);
    torch::Tensor next = y.select(1, y.size(1) - 1);  // [1, D] prediction of frame `start`
    if (warmup > 1)
      r.warmup_one_step_mse =
          torch::mse_loss(y.narrow(1, 0, y.size(1) - 1), x.narrow(1, 1, x.size(1) - 1).narrow(2, 0, D))
              .item<double>();
    r.warmup_seconds = clock.seconds();
    clock.reset();
    std::vector<torch::Tensor> out{next};
    for (std::size_t k = 1; k < steps; ++k) {
      const auto in =
          torch::cat({next, future_phase.narrow(0, static_cast<int64_t>(k - 1), 1)}, 1).unsqueeze(1);
      auto [y1, s1] = m.lstm->forward(in, state);
      state = s1;
      next = y1.select(1, 0);
      out.push_back(next);
    }
    pred = torch::cat(out, 0);
    r.generation_seconds = clock.seconds();
  } else {
    auto [mu, logvar] = m.ode->encode(x);
    r.warmup_seconds = clock.seconds();
    clock.reset();
    DopriOptions ode;
    ode.rtol = cfg.latent_ode.rtol;
    ode.atol = cfg.latent_ode.atol;
    const auto z =
        odeint_dopri5([&](double, const torch::Tensor& y) { return m.ode->dynamics(y); }, mu,
                      ode_times(warmup + steps, data.interval_ms / cfg.latent_ode.time_scale_ms), ode);
    pred = m.ode->decoder->forward(
        z.narrow(0, static_cast<int64_t>(warmup), static_cast<int64_t>(steps)).squeeze(1));
    r.generation_seconds = clock.seconds();
  }
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat).view({1, -1, 1}); };
  const auto phys =
      (pred.view({static_cast<int64_t>(steps), nv, n}) * t(r.stats.std) + t(r.stats.mean)).contiguous();
  r.predicted.assign(phys.data_ptr<float>(), phys.data_ptr<float>() + phys.numel());
  return r;
}

}  // namespace metaeik::surrogates::lstm
