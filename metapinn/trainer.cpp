#include "metapinn/trainer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <numeric>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"
#include "metapinn/checkpoint.hpp"
#include "metapinn/personalize.hpp"

namespace fs = std::filesystem;

namespace metaeik::metapinn {

// ------------------------------------------------------------------------------------ config --
namespace {
void check_positive_list(const core::JsonReader& r, const std::string& key, const std::vector<int64_t>& v) {
  METAEIK_CHECK(!v.empty(), r.error_prefix(key) << "must not be empty");
  for (auto x : v) METAEIK_CHECK(x >= 1, r.error_prefix(key) << "entries must be positive, got " << x);
}
}  // namespace

TrainConfig read_train_config(const core::Json& json, const std::string& source) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object at the top level");
  TrainConfig c;
  core::JsonReader r(json, source);
  {
    auto m = r.child("model");
    auto& o = c.model;
    m.get("encoder_channels", o.encoder_channels);
    check_positive_list(m, "encoder_channels", o.encoder_channels);
    m.get("kernel_size", o.kernel_size, int64_t(2), int64_t(9));
    m.get("hyper_hidden", o.hyper_hidden);
    for (auto x : o.hyper_hidden)
      METAEIK_CHECK(x >= 1, m.error_prefix("hyper_hidden") << "entries must be positive");
    m.get("pinn_width", o.pinn_width, int64_t(1), int64_t(4096));
    m.get("pinn_hidden_layers", o.pinn_hidden_layers, int64_t(1), int64_t(64));
    m.get("velocity_width", o.velocity_width, int64_t(1), int64_t(4096));
    m.get("velocity_layers", o.velocity_layers, int64_t(1), int64_t(64));
    m.get_choice("velocity_activation", o.velocity_activation, {"relu", "elu"});
    m.get("v_min", o.v_min, 1e-9, 1e9);
    m.get("v_max", o.v_max, 1e-9, 1e9);
    METAEIK_CHECK(o.v_max > o.v_min, m.error_prefix("v_max")
                                         << "must exceed v_min (" << o.v_min << "), got " << o.v_max);
    m.get("velocity_steepness", o.velocity_steepness, 1e-6, 1e6);
    m.get("hyper_init_scale", o.hyper_init_scale, 0.0, 10.0);
    m.get("encoder_coordinates", o.encoder_coordinates);
    m.get("encoder_slowness", o.encoder_slowness);
    m.get("source_distance", o.source_distance);
    m.finish();
  }
  {
    auto d = r.child("data");
    auto& o = c.data;
    d.get_choice("graph", o.graph, {"knn", "mesh"});
    d.get("knn", o.knn, 1, 100);
    d.get("levels", o.levels, 1, 12);
    d.get("speed_scale", o.speed_scale, 1e-9, 1e9);
    d.get("early_fraction", o.early_fraction, 0.0, 1.0);
    d.get_choice("query_input", o.query_input, {"observed", "reference"});
    d.get("feature_time", o.feature_time, 0.0, 1e9);
    d.get("graph_seed", o.graph_seed);
    d.finish();
  }
  {
    auto t = r.child("train");
    auto& o = c.train;
    t.get("epochs", o.epochs, 0, 10000000);
    t.get("k", o.k, 1, 1000);
    t.get("queries", o.queries, 0, 1000);
    t.get("lr", o.lr, 0.0, 10.0);
    t.get("min_lr_ratio", o.min_lr_ratio, 0.0, 1.0);
    t.get("weight_decay", o.weight_decay, 0.0, 10.0);
    t.get("warmup_epochs", o.warmup_epochs, 0, 10000000);
    t.get("grad_clip", o.grad_clip, 0.0, 1e9);
    t.get("alpha", o.alpha, 0.0, 1e9);
    t.get("alpha_ramp_epochs", o.alpha_ramp_epochs, 0, 10000000);
    t.get("velocity_logit_penalty", o.velocity_logit_penalty, 0.0, 1e9);
    t.get("residual_points", o.residual_points, 0, 10000000);
    t.get_choice("supervision", o.supervision, {"all", "observed"});
    t.get("supervision_fraction", o.supervision_fraction, 0.0, 1.0);
    METAEIK_CHECK(o.supervision_fraction > 0, t.error_prefix("supervision_fraction") << "must be positive");
    t.get_choice("holdout", o.holdout, {"none", "diagonal", "geometry"});
    t.get("holdout_geometry", o.holdout_geometry, 0, 1000000);
    t.get("val_every", o.val_every, 1, 10000000);
    t.get("val_queries", o.val_queries, 0, 10000000);
    t.get_choice("val_split", o.val_split, {"val", "test", "train"});
    t.get("seed", o.seed);
    t.get("threads", o.threads, 0, 1024);
    t.finish();
  }
  r.finish();
  return c;
}

TrainConfig load_train_config(const fs::path& path) {
  return read_train_config(core::load_json_file(path), path.string());
}

core::Json to_json(const TrainConfig& c) {
  core::Json j;
  const auto& m = c.model;
  j["model"] = {{"encoder_channels", m.encoder_channels},
                {"kernel_size", m.kernel_size},
                {"hyper_hidden", m.hyper_hidden},
                {"pinn_width", m.pinn_width},
                {"pinn_hidden_layers", m.pinn_hidden_layers},
                {"velocity_width", m.velocity_width},
                {"velocity_layers", m.velocity_layers},
                {"velocity_activation", m.velocity_activation},
                {"v_min", m.v_min},
                {"v_max", m.v_max},
                {"velocity_steepness", m.velocity_steepness},
                {"hyper_init_scale", m.hyper_init_scale},
                {"encoder_coordinates", m.encoder_coordinates},
                {"encoder_slowness", m.encoder_slowness},
                {"source_distance", m.source_distance}};
  const auto& d = c.data;
  j["data"] = {{"graph", d.graph},
               {"knn", d.knn},
               {"levels", d.levels},
               {"speed_scale", d.speed_scale},
               {"early_fraction", d.early_fraction},
               {"query_input", d.query_input},
               {"feature_time", d.feature_time},
               {"graph_seed", d.graph_seed}};
  const auto& t = c.train;
  j["train"] = {{"epochs", t.epochs},
                {"k", t.k},
                {"queries", t.queries},
                {"lr", t.lr},
                {"min_lr_ratio", t.min_lr_ratio},
                {"weight_decay", t.weight_decay},
                {"warmup_epochs", t.warmup_epochs},
                {"grad_clip", t.grad_clip},
                {"alpha", t.alpha},
                {"alpha_ramp_epochs", t.alpha_ramp_epochs},
                {"velocity_logit_penalty", t.velocity_logit_penalty},
                {"residual_points", t.residual_points},
                {"supervision", t.supervision},
                {"supervision_fraction", t.supervision_fraction},
                {"holdout", t.holdout},
                {"holdout_geometry", t.holdout_geometry},
                {"val_every", t.val_every},
                {"val_queries", t.val_queries},
                {"val_split", t.val_split},
                {"seed", t.seed},
                {"threads", t.threads}};
  return j;
}

torch::Device parse_device(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  if (device == "cuda") {
    METAEIK_CHECK(torch::cuda::is_available(),
                  "--device cuda: this LibTorch build has no usable CUDA device");
    return torch::kCUDA;
  }
  METAEIK_FAIL("--device: expected 'cpu' or 'cuda', got '" << device << "'");
}

// -------------------------------------------------------------------------------- checkpoints --
namespace {

void save_checkpoint(const fs::path& path, MetaPinn& model, torch::optim::Optimizer& optimizer, int epoch,
                     double best) {
  save_meta_checkpoint(path, *model, optimizer, model->options.signature(), epoch, best);
}

/// Loads parameters (and optionally the optimiser state); returns (epoch, best).
std::pair<int, double> load_checkpoint(const fs::path& path, MetaPinn& model,
                                       torch::optim::Optimizer* optimizer, torch::Device device) {
  return load_meta_checkpoint(path, *model, optimizer, model->options.signature(), device);
}

struct PreparedMap {
  torch::Tensor full;   ///< [N, 2] context features
  torch::Tensor early;  ///< [N, 2] query (source-encoder) features
  torch::Tensor times;  ///< [N] observed t' (0 where not finite)
  torch::Tensor truth;  ///< [N] true t' on every node
};

torch::Tensor scaled_times(const Eigen::VectorXd& ms, double time_scale) {
  auto t =
      torch::from_blob(const_cast<double*>(ms.data()), {ms.size()}, torch::kFloat64).clone() / time_scale;
  return torch::nan_to_num(t, 0.0).to(torch::kFloat32);
}

}  // namespace

LoadedModel load_model(const fs::path& run_dir, const std::string& device, const std::string& which) {
  METAEIK_CHECK(fs::is_directory(run_dir), "model directory '" << run_dir.string() << "' does not exist");
  const fs::path cfg = run_dir / "config.json";
  METAEIK_CHECK(fs::is_regular_file(cfg),
                "'" << run_dir.string() << "' is not a training run (config.json is missing)");
  LoadedModel m;
  m.config = load_train_config(cfg);
  m.device = parse_device(device);
  m.model = MetaPinn(m.config.model, m.config.data.speed_scale);
  m.model->to(m.device);
  fs::path ckpt = run_dir / (which + ".pt");
  if (!fs::exists(ckpt) && which == "best") ckpt = run_dir / "last.pt";
  m.epoch = load_checkpoint(ckpt, m.model, nullptr, m.device).first;
  m.model->eval();
  return m;
}

// ----------------------------------------------------------------------------------- training --
void train(TrainConfig config, const Corpus& corpus, const fs::path& run_dir, bool resume,
           const std::string& device_name) {
  const auto& t = config.train;
  METAEIK_CHECK(!corpus.subjects.empty(), "training data holds no subjects");
  const auto held_out = held_out_subjects(corpus, t.holdout, t.holdout_geometry);
  std::vector<int> subjects;  // the subjects training sees
  for (int s = 0; s < int(corpus.subjects.size()); ++s)
    if (std::find(held_out.begin(), held_out.end(), s) == held_out.end()) subjects.push_back(s);
  METAEIK_CHECK(!subjects.empty(), "holdout '" << t.holdout << "' leaves no subject to train on");
  if (!held_out.empty())
    spdlog::info("training holds out {} of {} subjects ({})", held_out.size(), corpus.subjects.size(),
                 t.holdout);
  for (int s : subjects) {
    const int n = int(corpus.maps_of(s, "train").size());
    METAEIK_CHECK(n >= t.k + 1, "subject " << s << " has " << n << " training maps; k = " << t.k
                                           << " needs at least " << t.k + 1 << " (k contexts and one query)");
  }
  const torch::Device device = parse_device(device_name);
  if (t.threads > 0) set_threads(t.threads);

  const fs::path last_path = run_dir / "last.pt", best_path = run_dir / "best.pt",
                 log_path = run_dir / "log.csv";
  if (resume) {
    METAEIK_CHECK(fs::is_regular_file(last_path), "--resume: '" << last_path.string() << "' does not exist");
    TrainConfig stored = load_train_config(run_dir / "config.json");
    if (to_json(stored)["model"] != to_json(config)["model"] ||
        to_json(stored)["data"]["graph"] != to_json(config)["data"]["graph"])
      spdlog::warn("--resume: using the model/data settings stored in {}",
                   (run_dir / "config.json").string());
    stored.train.epochs = config.train.epochs;  // allow extending a run
    config = stored;
  } else {
    METAEIK_CHECK(
        !fs::exists(last_path),
        "'" << run_dir.string() << "' already holds a training run; use --resume or another directory");
    if (config.data.feature_time <= 0) config.data.feature_time = max_training_time(corpus, config.data);
    fs::create_directories(run_dir);
    core::save_json_file(run_dir / "config.json", to_json(config));
  }

  // Geometries and per-map tensors: computed once.
  std::vector<PreparedGeometry> geometries;
  for (const auto& g : corpus.geometries)
    geometries.push_back(
        prepare_geometry(g.points, g.tets, g.observed, config.data, int(config.model.kernel_size), device));
  std::vector<PreparedMap> maps(corpus.maps.size());
  for (std::size_t m = 0; m < corpus.maps.size(); ++m) {
    const auto& cm = corpus.maps[m];
    const int gi = corpus.subjects[cm.subject].geometry;
    const auto& g = corpus.geometries[gi];
    const auto& sc = geometries[gi].scaling;
    maps[m].full = map_features(cm.observation, g.observed, sc, config.data.feature_time, 1.0).to(device);
    maps[m].early = (config.data.query_input == "reference"
                         ? map_features(cm.truth, Eigen::VectorXi::Ones(cm.truth.size()), sc,
                                        config.data.feature_time, config.data.early_fraction)
                         : map_features(cm.observation, g.observed, sc, config.data.feature_time,
                                        config.data.early_fraction))
                        .to(device);
    maps[m].times = scaled_times(cm.observation, sc.time).to(device);
    maps[m].truth = scaled_times(cm.truth, sc.time).to(device);
  }

  // The initial weights come from torch's global generator: seed and draw under a lock, so runs
  // trained side by side (the experiment trains its two meta models at once) stay reproducible.
  MetaPinn model{nullptr};
  {
    static std::mutex init_mutex;
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(t.seed);
    model = MetaPinn(config.model, config.data.speed_scale);
  }
  model->to(device);
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
  int start_epoch = 0;
  double best = -INFINITY;
  if (resume) {
    std::tie(start_epoch, best) = load_checkpoint(last_path, model, &optimizer, device);
    core::trim_log(log_path, 0, start_epoch);  // a kill between a log row and last.pt wrote one row ahead
    spdlog::info("resuming {} at epoch {}", run_dir.string(), start_epoch);
  }

  const int S = int(subjects.size());
  const long long total_steps = (long long)t.epochs * S, warmup_steps = (long long)t.warmup_epochs * S;
  auto lr_at = [&](long long step) {
    if (step < warmup_steps) return t.lr * double(step + 1) / double(warmup_steps);
    const double progress = total_steps > warmup_steps ? double(step - warmup_steps) /
                                                             double(std::max(1LL, total_steps - warmup_steps))
                                                       : 1.0;
    return t.lr *
           (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress))));
  };

  std::ofstream log(log_path, resume ? std::ios::app : std::ios::trunc);
  METAEIK_CHECK(log, "cannot write '" << log_path.string() << "'");
  if (!resume)
    log << "epoch,step,data_loss,pde_loss,alpha,total_loss,lr,seconds,val_at_corr,val_v_corr,val_at_rel_"
           "error,"
           "val_residual\n";

  LoadedModel view;
  view.config = config;
  view.model = model;
  view.device = device;

  core::ProgressBar bar("train", std::size_t(std::max(0, t.epochs - start_epoch)) * S);
  for (int epoch = start_epoch; epoch < t.epochs; ++epoch) {
    core::Stopwatch watch;
    model->train();
    auto rng = core::make_rng(t.seed, std::uint64_t(epoch) + 1);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(core::mix_seed(t.seed * 1000003ULL + epoch));
    std::vector<int> order = subjects;
    std::shuffle(order.begin(), order.end(), rng);
    const double alpha =
        t.alpha_ramp_epochs > 0 ? t.alpha * std::min(1.0, double(epoch) / t.alpha_ramp_epochs) : t.alpha;
    double sum_data = 0, sum_pde = 0, sum_total = 0, lr = 0;
    for (int si = 0; si < S; ++si) {
      const int s = order[si];
      const long long step = (long long)epoch * S + si;
      lr = lr_at(step);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      auto pool = corpus.maps_of(s, "train");
      std::shuffle(pool.begin(), pool.end(), rng);
      const int nq =
          t.queries > 0 ? std::min<int>(t.queries, int(pool.size()) - t.k) : int(pool.size()) - t.k;
      std::vector<torch::Tensor> ctx, qf, qt;
      const bool all_nodes = t.supervision == "all";
      for (int i = 0; i < t.k; ++i) ctx.push_back(maps[pool[i]].full);
      for (int i = 0; i < nq; ++i) {
        qf.push_back(maps[pool[t.k + i]].early);
        qt.push_back(all_nodes ? maps[pool[t.k + i]].truth : maps[pool[t.k + i]].times);
      }
      const auto& g = geometries[corpus.subjects[s].geometry];
      EpisodeInput in;
      in.levels = &g.levels;
      in.context = torch::stack(ctx);
      in.query_features = torch::stack(qf);
      in.query_times = torch::stack(qt);
      in.observed = g.observed;
      in.nodes = g.nodes;
      if (all_nodes)  // a fresh random share of all nodes per query
        in.supervised =
            (torch::rand({nq, g.num_nodes}, gen) < t.supervision_fraction).to(device, torch::kFloat32);
      if (t.residual_points > 0 && g.tet_points.defined())
        in.extra_points = random_tet_points(g, t.residual_points, gen).to(device);
      auto out = model->run(in, true);
      auto loss = alpha > 0 ? out.data_loss + alpha * out.pde_loss : out.data_loss;
      if (alpha > 0 && t.velocity_logit_penalty > 0)
        loss = loss + t.velocity_logit_penalty * out.logit_penalty;
      optimizer.zero_grad();
      loss.backward();
      if (t.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), t.grad_clip);
      optimizer.step();
      sum_data += out.data_loss.item<double>();
      sum_pde += out.pde_loss.item<double>();
      sum_total += loss.item<double>();
      bar.advance();
    }
    const double seconds = watch.seconds();
    const bool validate = (epoch + 1) % t.val_every == 0 || epoch + 1 == t.epochs;
    std::string val_cols = ",,,";
    if (validate) {
      model->eval();
      EvaluateOptions eo;
      eo.k = t.k;
      eo.split = t.val_split;
      eo.seed = t.seed;
      eo.max_queries = t.val_queries;
      eo.subjects = subjects;
      auto rows = evaluate(view, corpus, eo, /*progress=*/false, &geometries);
      std::vector<double> at, v, rel, res;
      for (const auto& r : rows) {
        at.push_back(r.metrics.at_corr);
        v.push_back(r.metrics.v_corr);
        rel.push_back(r.metrics.at_rel_error);
        res.push_back(r.metrics.residual);
      }
      const double at_corr = mean_std(at).mean;
      val_cols =
          fmt::format("{},{},{},{}", at_corr, mean_std(v).mean, mean_std(rel).mean, mean_std(res).mean);
      bar.set_status(fmt::format("val AT corr {:.3f}, v corr {:.3f}", at_corr, mean_std(v).mean));
      spdlog::debug("epoch {}: val AT corr {:.4f}, v corr {:.4f}", epoch + 1, at_corr, mean_std(v).mean);
      if (at_corr > best || !fs::exists(best_path)) {
        best = std::max(best, at_corr);
        save_checkpoint(best_path, model, optimizer, epoch + 1, best);
      }
    }
    log << epoch + 1 << ',' << (long long)(epoch + 1) * S << ',' << sum_data / S << ',' << sum_pde / S << ','
        << alpha << ',' << sum_total / S << ',' << lr << ',' << seconds << ',' << val_cols << '\n';
    log.flush();
    save_checkpoint(last_path, model, optimizer, epoch + 1, best);
  }
  bar.finish();
}

}  // namespace metaeik::metapinn
