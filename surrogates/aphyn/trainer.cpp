#include "surrogates/aphyn/trainer.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/threads.hpp"
#include "core/zip_check.hpp"
#include "surrogates/aphyn/hybrid.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kTauNames{"tau_in", "tau_out", "tau_close"};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

/// `opt` null: parameters only (L-BFGS state does not serialise in LibTorch 1.13; resume restarts its
/// history).
void save_checkpoint(const fs::path& path, HybridModel& model, torch::optim::Optimizer* opt, int epoch,
                     double lambda) {
  torch::serialize::OutputArchive ar;
  model->save(ar);
  if (opt) {
    torch::serialize::OutputArchive oa;
    opt->save(oa);
    ar.write("optimizer", oa);
  }
  ar.write("meta_epoch", c10::IValue(int64_t(epoch)));
  ar.write("meta_lambda", c10::IValue(lambda));
  core::write_atomically(path, [&](const fs::path& tmp) { ar.save_to(tmp.string()); });
}

/// Loads parameters (and the optimiser state if given); returns (epoch, λ).
std::pair<int, double> load_checkpoint(const fs::path& path, HybridModel& model,
                                       torch::optim::Optimizer* opt) {
  METAEIK_CHECK(fs::is_regular_file(path), path.string() << ": checkpoint not found");
  torch::serialize::InputArchive ar;
  try {
    core::check_zip_archive(path);  // LibTorch's reader can crash on a damaged archive
    ar.load_from(path.string());
    model->load(ar);
    if (opt) {
      torch::serialize::InputArchive oa;
      ar.read("optimizer", oa);
      opt->load(oa);
    }
  } catch (const c10::Error& e) {
    METAEIK_FAIL(path.string() << ": not a checkpoint of this model ("
                               << first_line(e.what_without_backtrace()) << ")");
  }
  c10::IValue epoch, lambda;
  ar.try_read("meta_epoch", epoch);
  ar.try_read("meta_lambda", lambda);
  return {epoch.isInt() ? int(epoch.toInt()) : 0, lambda.isDouble() ? lambda.toDouble() : 1.0};
}

std::map<std::string, double> taus(const HybridModel& m) {
  std::map<std::string, double> t;
  for (const auto& n : kTauNames) t[n] = m->tau_value(n);
  return t;
}

double time_forecast(HybridModel& model) {
  torch::NoGradGuard ng;
  Trace tr;
  tr.t = {0, 350};
  tr.v = {1, 0};
  const auto batch = make_batch({tr}, model->options().dt);
  const auto start = std::chrono::steady_clock::now();
  forecast(model, batch);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> log_lines(const fs::path& path, int up_to_epoch) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return lines;
  while (std::getline(in, line))
    if (!line.empty() && std::stoi(line.substr(0, line.find(','))) <= up_to_epoch) lines.push_back(line);
  return lines;
}

}  // namespace

FitResult fit(const ModelOptions& mo, const TrainOptions& to, const std::vector<Trace>& train_traces,
              const std::vector<Trace>& validation_traces, const fs::path& dir, bool resume) {
  METAEIK_CHECK(!train_traces.empty(), "no training traces");
  torch::set_num_threads(to.threads);
  core::set_blas_threads(to.threads);
  torch::manual_seed(to.seed);
  fs::create_directories(dir);
  core::save_json_file(dir / "model.json", to_json(mo));
  HybridModel model(mo);
  // adam: one Adam over τ (lr_tau) and F_dl (lr). lbfgs: L-BFGS over τ, then Adam over F_dl, each epoch.
  const bool lbfgs = to.optimizer == "lbfgs";
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!model->tau_parameters().empty() && !lbfgs)
    groups.emplace_back(model->tau_parameters(), std::make_unique<torch::optim::AdamOptions>(to.lr_tau));
  if (model->has_fdl())
    groups.emplace_back(model->fdl_parameters(), std::make_unique<torch::optim::AdamOptions>(to.lr));
  METAEIK_CHECK(!groups.empty() || (lbfgs && !model->tau_parameters().empty()),
                "model.learn is empty and there is no F_dl: nothing to train");
  std::vector<torch::Tensor> no_params{torch::zeros({1}, torch::kDouble).requires_grad_()};
  torch::optim::Adam adam(
      groups.empty() ? std::vector<torch::optim::OptimizerParamGroup>{{no_params}} : std::move(groups),
      torch::optim::AdamOptions(to.lr));
  std::unique_ptr<torch::optim::LBFGS> tau_lbfgs;
  if (lbfgs && !model->tau_parameters().empty())
    tau_lbfgs =
        std::make_unique<torch::optim::LBFGS>(model->tau_parameters(), torch::optim::LBFGSOptions(to.lr_tau)
                                                                           .max_iter(to.lbfgs_iterations)
                                                                           .history_size(10)
                                                                           .line_search_fn("strong_wolfe"));

  FitResult res;
  res.tau_start = taus(model);
  int epoch0 = 0;
  double lambda = to.lambda0;
  std::vector<std::string> rows;
  if (resume) {
    std::tie(epoch0, lambda) =
        load_checkpoint(dir / "last.pt", model, lbfgs && !model->has_fdl() ? nullptr : &adam);
    rows = log_lines(dir / "log.csv", epoch0);
    spdlog::info("aphyn: resuming {} at epoch {} (λ = {:.4g})", dir.string(), epoch0, lambda);
  }

  const auto train_batch = make_batch(train_traces, mo.dt);
  const auto val_batch = make_batch(validation_traces, mo.dt);
  const auto B = train_batch.v0.size(0);
  const std::int64_t bs = to.batch_size > 0 ? std::min<std::int64_t>(to.batch_size, B) : B;
  auto write_log = [&] {
    core::write_file_atomically(dir / "log.csv", [&](std::ostream& os) {
      os << "epoch,lambda,l_traj,fdl_norm2,loss,tau_in,tau_out,tau_close,mse_validation,seconds\n";
      for (const auto& r : rows) os << r << '\n';
    });
  };

  double train_seconds = 0;
  {
    core::ProgressBar bar(mo.fdl ? "aphyn train" : "aphyn train (physics only)",
                          static_cast<std::size_t>(std::max(0, to.epochs - epoch0)));
    for (int epoch = epoch0 + 1; epoch <= to.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      const auto perm = torch::randperm(B, torch::kLong);
      int n_steps = train_batch.n_steps;
      if (to.horizon_start > 0 && to.horizon_epochs > 0 && epoch <= to.horizon_epochs) {
        const double h =
            to.horizon_start + (n_steps * mo.dt - to.horizon_start) * (epoch - 1) / to.horizon_epochs;
        n_steps = std::min(n_steps, static_cast<int>(std::lround(h / mo.dt)));
      }
      const auto epoch_batch = truncate(train_batch, n_steps);
      double sum_traj = 0, sum_fdl = 0, sum_loss = 0;
      int n_batches = 0;
      if (tau_lbfgs) {
        tau_lbfgs->step([&] {
          tau_lbfgs->zero_grad();
          adam.zero_grad();
          auto loss = hybrid_loss(forecast(model, epoch_batch), lambda);
          // A line-search trial far outside the physiological τ can overflow: report a huge loss (no
          // gradient) so that the line search backs off instead of accepting NaN.
          if (!std::isfinite(loss.item<double>())) return torch::full({}, 1e30, torch::kDouble);
          loss.backward();
          return loss;
        });
      }
      if (lbfgs && !model->has_fdl()) {
        torch::NoGradGuard ng;
        const auto f = forecast(model, epoch_batch);
        sum_traj = f.l_traj.item<double>();
        sum_loss = lambda * sum_traj;
        n_batches = 1;
      } else {
        for (std::int64_t b0 = 0; b0 < B; b0 += bs) {
          const auto batch = select(epoch_batch, perm.slice(0, b0, std::min(B, b0 + bs)));
          adam.zero_grad();
          if (tau_lbfgs) tau_lbfgs->zero_grad();
          auto f = forecast(model, batch);
          auto loss = hybrid_loss(f, lambda);
          loss.backward();
          adam.step();
          sum_traj += f.l_traj.item<double>();
          sum_fdl += f.fdl_norm2.item<double>();
          sum_loss += loss.item<double>();
          ++n_batches;
        }
      }
      const double l_traj = sum_traj / n_batches;
      lambda = next_lambda(lambda, to.gamma, l_traj);
      for (auto& group : adam.param_groups()) group.options().set_lr(group.options().get_lr() * to.lr_decay);
      double mse_val = NAN;
      if (to.validate_every > 0 && (epoch % to.validate_every == 0 || epoch == to.epochs)) {
        torch::NoGradGuard ng;
        mse_val = forecast(model, val_batch).l_traj.item<double>();
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      train_seconds += secs;
      const auto t = taus(model);
      std::ostringstream row;
      row << std::setprecision(8) << epoch << ',' << lambda << ',' << l_traj << ',' << sum_fdl / n_batches
          << ',' << sum_loss / n_batches << ',' << t.at("tau_in") << ',' << t.at("tau_out") << ','
          << t.at("tau_close") << ',' << mse_val << ',' << secs;
      rows.push_back(row.str());
      if (epoch % to.checkpoint_every == 0 || epoch == to.epochs) {
        save_checkpoint(dir / "last.pt", model, lbfgs && !model->has_fdl() ? nullptr : &adam, epoch, lambda);
        write_log();
      }
      char status[160];
      std::snprintf(status, sizeof status, "L_traj %.3g  τ %.3g %.3g %.4g", l_traj, t.at("tau_in"),
                    t.at("tau_out"), t.at("tau_close"));
      bar.set_status(status);
      bar.advance();
    }
  }
  if (to.epochs <= epoch0) {
    save_checkpoint(dir / "last.pt", model, lbfgs && !model->has_fdl() ? nullptr : &adam, epoch0, lambda);
    write_log();
  }

  torch::NoGradGuard ng;
  res.epochs = std::max(0, to.epochs - epoch0);
  res.seconds_per_epoch = res.epochs > 0 ? train_seconds / res.epochs : 0;
  res.tau = taus(model);
  const auto ft = forecast(model, train_batch), fv = forecast(model, val_batch);
  res.mse_train = ft.l_traj.item<double>();
  res.mse_validation = fv.l_traj.item<double>();
  res.fdl_norm2_train = ft.fdl_norm2.item<double>();
  res.fdl_norm2_validation = fv.fdl_norm2.item<double>();
  res.forecast_seconds = time_forecast(model);
  return res;
}

ForecastResult forecast_dir(const fs::path& dir, const std::vector<Trace>& traces) {
  const auto json_path = dir / "model.json";
  METAEIK_CHECK(fs::is_regular_file(json_path), dir.string()
                                                    << ": not an aphyn model directory (no model.json)");
  ModelOptions mo;
  core::JsonReader r(core::load_json_file(json_path), json_path.string());
  read_model_options(r, mo);
  HybridModel model(mo);
  load_checkpoint(dir / "last.pt", model, nullptr);
  torch::NoGradGuard ng;
  ForecastResult out;
  out.tau = taus(model);
  const auto batch = make_batch(traces, mo.dt);
  const auto f = forecast(model, batch, true);
  out.mse = f.l_traj.item<double>();
  out.fdl_norm2 = f.fdl_norm2.item<double>();
  out.forecast_seconds = time_forecast(model);
  for (std::size_t i = 0; i < traces.size(); ++i) {
    TracePrediction p;
    p.name = traces[i].name;
    p.t = traces[i].t;
    p.truth = traces[i].v;
    const auto K = static_cast<std::int64_t>(p.t.size());
    auto to_vec = [&](const torch::Tensor& x) {
      auto row = x[static_cast<std::int64_t>(i)].slice(0, 0, K).contiguous();
      return std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + K);
    };
    p.prediction = to_vec(f.v);
    p.fp_integral = to_vec(f.fp_integral);
    p.fdl_integral = to_vec(f.fdl_integral);
    double se = 0;
    for (std::int64_t k = 1; k < K; ++k)
      se += (p.prediction[k] - p.truth[k]) * (p.prediction[k] - p.truth[k]);
    p.mse = K > 1 ? se / (K - 1) : 0;
    out.traces.push_back(std::move(p));
  }
  return out;
}

}  // namespace metaeik::surrogates::aphyn
