// train_surrogate: Adam + reduce-on-plateau over one of the three losses, with checkpoints,
// a CSV log and resumption.

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/threads.hpp"
#include "core/timer.hpp"
#include "core/zip_check.hpp"
#include "surrogates/fhn/evaluate.hpp"
#include "surrogates/fhn/train.hpp"

namespace metaeik::surrogates::fhn {

namespace {

/// Training rows of a kind: ddnn/pinn the training samples, itnn the (state, state after
/// itnn_step) pairs of every training trajectory.
void training_rows(const FhnConfig& c, const Dataset& d, torch::Tensor& x, torch::Tensor& y) {
  if (c.kind != "itnn") {
    const Samples& s = d.train_samples;
    const long rows = static_cast<long>(s.rows());
    x = torch::from_blob(const_cast<float*>(s.x.data()), {rows, s.inputs}, torch::kFloat32).clone();
    y = torch::from_blob(const_cast<float*>(s.y.data()), {rows, 2}, torch::kFloat32).clone();
    return;
  }
  const Trajectories& t = d.train;
  const long every = std::lround(c.train.itnn_step / t.store_dt);
  METAEIK_CHECK(every >= 1 && std::abs(every * t.store_dt - c.train.itnn_step) < 1e-9 && every < t.points,
                "train.itnn_step " << c.train.itnn_step << " must be a multiple of data.store_dt "
                                   << t.store_dt << " shorter than the trajectory");
  const int in = network_inputs(c.kind, d.problem);
  std::vector<float> xs, ys;
  for (int j = 0; j < t.count; ++j)
    for (int i = 0; i + every < t.points; ++i) {
      xs.push_back(static_cast<float>(t.u(j, i)));
      xs.push_back(static_cast<float>(t.w(j, i)));
      if (in == 3) xs.push_back(static_cast<float>(t.k[j]));
      ys.push_back(static_cast<float>(t.u(j, i + every)));
      ys.push_back(static_cast<float>(t.w(j, i + every)));
    }
  const long rows = static_cast<long>(ys.size() / 2);
  x = torch::from_blob(xs.data(), {rows, in}, torch::kFloat32).clone();
  y = torch::from_blob(ys.data(), {rows, 2}, torch::kFloat32).clone();
}

/// Reduce-on-plateau (PyTorch semantics, relative threshold 1e-4, no cooldown).
struct Plateau {
  double best = std::numeric_limits<double>::infinity();
  int bad = 0;
  double lr = 0;
  void step(double loss, const TrainOptions& o) {
    if (loss < best * (1 - 1e-4)) {
      best = loss, bad = 0;
    } else if (++bad > o.plateau_patience) {
      lr = std::max(lr * o.plateau_factor, o.min_lr), bad = 0;
    }
  }
};

template <class T>
void save_atomically(const T& object, const std::filesystem::path& path) {
  core::write_atomically(path, [&](const std::filesystem::path& tmp) { torch::save(object, tmp.string()); });
}

}  // namespace

TrainResult train_surrogate(const FhnConfig& c, const Dataset& d, const RunFiles& files) {
  METAEIK_CHECK(c.kind == "ddnn" || c.kind == "pinn" || c.kind == "itnn",
                "kind must be one of ddnn, pinn, itnn, got \"" << c.kind << "\"");
  const TrainOptions& o = c.train;
  torch::set_num_threads(std::max(1, o.threads));
  core::set_blas_threads(std::max(1, o.threads));
  const Architecture arch = Architecture::parse(c.architecture);
  torch::Tensor x, y;
  training_rows(c, d, x, y);
  const long rows = x.size(0);
  METAEIK_CHECK(rows > 0, "no training rows");
  // Input ranges: the problem's box (ddnn/pinn) or the training states (itnn); output scale.
  std::vector<double> lo, hi;
  if (c.kind == "itnn") {
    const auto mn = std::get<0>(x.min(0)), mx = std::get<0>(x.max(0));
    for (long i = 0; i < x.size(1); ++i)
      lo.push_back(mn[i].item<double>()), hi.push_back(mx[i].item<double>());
  } else {
    input_bounds(d.problem, lo, hi);
  }
  const auto ymax = std::get<0>(y.abs().max(0));
  std::vector<double> scale{std::max(1.0, 1.05 * ymax[0].item<double>()),
                            std::max(1.0, 1.05 * ymax[1].item<double>())};
  torch::manual_seed(o.seed);
  FhnMlp net(arch, lo, hi, scale);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(o.lr));
  Plateau plateau;
  plateau.lr = o.lr;
  int start = 0;

  const bool keep = !files.dir.empty();
  const auto log_path = files.dir / "log.csv";
  if (keep) {
    std::filesystem::create_directories(files.dir);
    if (files.resume) {
      const auto state_path = files.dir / "state.json";
      METAEIK_CHECK(std::filesystem::exists(state_path), files.dir.string()
                                                             << ": nothing to resume (no state.json)");
      const core::Json state = core::load_json_file(state_path);
      core::Json saved = core::load_json_file(files.dir / "config.json"), now = to_json(c);
      saved["train"].erase("iterations"), now["train"].erase("iterations");
      METAEIK_CHECK(saved == now, files.dir.string() << ": config differs from the run's config.json (only "
                                                        "train.iterations may change on --resume)");
      core::check_zip_archive(files.dir / "model.pt");  // LibTorch's reader can crash on a damaged one
      core::check_zip_archive(files.dir / "optimizer.pt");
      torch::load(net, (files.dir / "model.pt").string());
      torch::load(optimizer, (files.dir / "optimizer.pt").string());
      start = state.at("iteration").get<int>();
      plateau.best = state.at("best_loss").get<double>();
      plateau.bad = state.at("bad_steps").get<int>();
      plateau.lr = state.at("lr").get<double>();
      core::trim_log(log_path, 0, start);  // the rows up to the checkpoint
      spdlog::info("train: resuming {} at step {} of {}", files.dir.string(), start, o.iterations);
    } else {
      core::write_file_atomically(log_path,
                                  [](std::ostream& os) { os << "iteration,loss,lr,seconds,val_mae\n"; });
    }
    core::save_json_file(files.dir / "config.json", to_json(c));
  }
  std::ofstream log;
  if (keep) log.open(log_path, std::ios::app);
  auto checkpoint = [&](int iteration) {
    if (!keep) return;
    save_atomically(net, files.dir / "model.pt");
    save_atomically(optimizer, files.dir / "optimizer.pt");
    core::save_json_file(files.dir / "state.json", {{"iteration", iteration},
                                                    {"best_loss", plateau.best},
                                                    {"bad_steps", plateau.bad},
                                                    {"lr", plateau.lr}});
  };

  const RhsCoefficients coeff = rhs_coefficients(d.problem);
  const double stim_k = stim_per_k(d.problem);
  std::vector<double> box_lo, box_hi;
  input_bounds(d.problem, box_lo, box_hi);
  const int batch = (o.batch_size <= 0 || o.batch_size >= rows) ? 0 : o.batch_size;
  TrainResult result;
  std::unique_ptr<core::ProgressBar> bar;
  if (files.progress)
    bar = std::make_unique<core::ProgressBar>("train " + c.architecture, o.iterations - start);
  core::Stopwatch watch;
  double loss_value = 0;
  for (int it = start; it < o.iterations; ++it) {
    // Batches and collocation points from a stream per step: identical with and without resume.
    core::Rng rng = core::make_rng(o.seed, 1000003ULL + it);
    auto uniform = [&] { return static_cast<float>((rng() >> 11) * 0x1.0p-53); };
    torch::Tensor xb = x, yb = y;
    if (batch) {
      std::vector<long> idx(batch);
      for (auto& i : idx) i = static_cast<long>(rng() % static_cast<std::uint64_t>(rows));
      const torch::Tensor ti = torch::tensor(idx, torch::kLong);
      xb = x.index_select(0, ti), yb = y.index_select(0, ti);
    }
    torch::Tensor loss;
    if (c.kind == "ddnn") {
      loss = norm_loss(net->forward(xb), yb);
    } else if (c.kind == "itnn") {
      loss = (net->forward(xb) - yb).pow(2).sum(1).mean();
    } else {
      const int in = static_cast<int>(box_lo.size());
      std::vector<float> col(std::size_t(o.collocation) * in), start_x(std::size_t(o.collocation) * in);
      for (int r = 0; r < o.collocation; ++r)
        for (int j = 0; j < in; ++j) {
          col[std::size_t(r) * in + j] = static_cast<float>(box_lo[j] + uniform() * (box_hi[j] - box_lo[j]));
          start_x[std::size_t(r) * in + j] = j == 0 ? 0.0f : col[std::size_t(r) * in + j];
        }
      const torch::Tensor xc = torch::from_blob(col.data(), {o.collocation, in}, torch::kFloat32);
      loss = o.data_weight * norm_loss(net->forward(xb), yb) +
             o.physics_weight * physics_residual(net, xc, coeff, stim_k);
      if (o.start_weight > 0) {
        const torch::Tensor xs = torch::from_blob(start_x.data(), {o.collocation, in}, torch::kFloat32);
        const torch::Tensor y0 =
            in == 1 ? torch::tensor({float(d.problem.u0), float(d.problem.w0)}).expand({o.collocation, 2})
                    : xs.slice(1, 1, 3);
        loss = loss + o.start_weight * (net->forward(xs) - y0).pow(2).sum(1).mean();
      }
    }
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_value = loss.item<double>();
    plateau.step(loss_value, o);
    for (auto& g : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(g.options()).lr(plateau.lr);
    const int done = it + 1;
    if (keep && (done % std::max(1, o.log_every) == 0 || done == o.iterations)) {
      std::string val = "";
      if (o.validate_every > 0 && done % o.validate_every == 0) {
        std::ostringstream os;
        os << validate(net, c.kind, d, o.itnn_step).mae;
        val = os.str();
      }
      log << done << ',' << loss_value << ',' << plateau.lr << ',' << watch.seconds() << ',' << val << '\n'
          << std::flush;
    }
    if (keep && o.checkpoint_every > 0 && done % o.checkpoint_every == 0 && done < o.iterations)
      checkpoint(done);
    if (bar) {
      bar->advance();
      if (done % 100 == 0) {
        std::ostringstream os;
        os << "loss " << loss_value << " lr " << plateau.lr;
        bar->set_status(os.str());
      }
    }
  }
  if (bar) bar->finish();
  result.train_seconds = watch.seconds();
  result.iterations = std::max(start, o.iterations);
  result.final_loss = loss_value;
  result.parameters = arch.parameters(network_inputs(c.kind, d.problem));
  checkpoint(result.iterations);

  const Validation v = validate(net, c.kind, d, o.itnn_step);
  result.val_mae = v.mae, result.val_max_error = v.max_error, result.rollout = v.rollout;
  result.inference_seconds =
      o.bench_samples > 0 ? time_inference(net, c.kind, d.problem, o.bench_samples, 50.0, o.itnn_step) : 0.0;
  if (keep)
    core::save_json_file(files.dir / "metrics.json", {{"val_mae", result.val_mae},
                                                      {"val_max_error", result.val_max_error},
                                                      {"final_loss", result.final_loss},
                                                      {"train_seconds", result.train_seconds},
                                                      {"inference_seconds", result.inference_seconds},
                                                      {"inference_samples", o.bench_samples},
                                                      {"parameters", result.parameters},
                                                      {"iterations", result.iterations},
                                                      {"rollouts", v.rollout.rollouts},
                                                      {"diverged", v.rollout.diverged},
                                                      {"false_equilibria", v.rollout.false_equilibria}});
  return result;
}

}  // namespace metaeik::surrogates::fhn
