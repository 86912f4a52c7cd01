#include "metapinn/meta_fim.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"
#include "metapinn/checkpoint.hpp"
#include "metapinn/fim_bridge.hpp"

namespace fs = std::filesystem;

namespace metaeik::metapinn {

// ------------------------------------------------------------------------------------ config --
bool is_meta_fim_config(const core::Json& json) { return json.is_object() && json.contains("fim"); }

MetaFimConfig read_meta_fim_config(const core::Json& json, const std::string& source) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object at the top level");
  core::Json rest = json;
  rest.erase("fim");
  const TrainConfig t = read_train_config(rest, source);
  MetaFimConfig c{t.model, t.data, t.train, {}};
  core::JsonReader r(json, source);
  auto f = r.child("fim");
  auto& o = c.fim;
  f.get_choice("prior", o.prior, {"none", "laplacian"});
  f.get("prior_weight", o.prior_weight, 0.0, 1e9);
  f.get("source_candidates", o.source_candidates, 1, 1000);
  f.get("source_search_steps", o.source_search_steps, 0, 1000);
  f.get("tolerance", o.tolerance, 0.0, 1e3);
  f.finish();
  return c;
}

MetaFimConfig load_meta_fim_config(const fs::path& path) {
  return read_meta_fim_config(core::load_json_file(path), path.string());
}

core::Json to_json(const MetaFimConfig& c) {
  core::Json j = to_json(TrainConfig{c.model, c.data, c.train});
  const auto& o = c.fim;
  j["fim"] = {{"prior", o.prior},
              {"prior_weight", o.prior_weight},
              {"source_candidates", o.source_candidates},
              {"source_search_steps", o.source_search_steps},
              {"tolerance", o.tolerance}};
  return j;
}

// ------------------------------------------------------------------------------------- model --
MetaFimImpl::MetaFimImpl(ModelOptions options_, double speed_scale_)
    : options(std::move(options_)), speed_scale(speed_scale_) {
  reset();
}

void MetaFimImpl::reset() {
  METAEIK_CHECK(!options.encoder_channels.empty(), "model: encoder_channels must not be empty");
  METAEIK_CHECK(options.v_min > 0 && options.v_max > options.v_min,
                "model: need 0 < v_min < v_max, got " << options.v_min << ", " << options.v_max);
  METAEIK_CHECK(speed_scale > 0, "model: speed scale must be positive");
  METAEIK_CHECK(options.velocity_activation == "relu" || options.velocity_activation == "elu",
                "model: velocity_activation must be relu or elu, got " << options.velocity_activation);
  activation_ =
      options.velocity_activation == "elu" ? functional::Activation::kElu : functional::Activation::kRelu;
  velocity_encoder = register_module(
      "velocity_encoder",
      Encoder(options.encoder_channels, encoder_input_channels(options), options.kernel_size));
  velocity_hyper =
      register_module("velocity_hyper", HyperNet(options.embedding(), options.hyper_hidden,
                                                 options.velocity_sizes(), options.hyper_init_scale));
  init_velocity_hyper(velocity_hyper, options);
}

torch::Tensor MetaFimImpl::context_embedding(const torch::Tensor& context,
                                             const std::vector<GraphLevel>& levels,
                                             const torch::Tensor& nodes) {
  return velocity_encoder->forward(encoder_inputs(options, context, levels, nodes), levels).mean(0);
}

torch::Tensor MetaFimImpl::velocity_weights(const torch::Tensor& c) {
  return velocity_hyper->forward(c.unsqueeze(0)).squeeze(0);
}

torch::Tensor MetaFimImpl::speed_logits(const torch::Tensor& x, const torch::Tensor& weights) const {
  return options.velocity_steepness *
         functional::mlp(x, weights, options.velocity_sizes(), activation_).squeeze(-1);
}

torch::Tensor MetaFimImpl::speed_of_logits(const torch::Tensor& logits) const {
  return (options.v_min + (options.v_max - options.v_min) * torch::sigmoid(logits)) / speed_scale;
}

std::string MetaFimImpl::signature() const {
  std::ostringstream os;
  auto list = [&os](const std::vector<int64_t>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? "-" : "") << v[i];
  };
  os << "metafim-v1 encoder=";
  list(options.encoder_channels);
  os << " kernel=" << options.kernel_size << " hyper=";
  list(options.hyper_hidden);
  os << " velocity=";
  list(options.velocity_sizes());
  os << " velocity_activation=" << options.velocity_activation << " encoder_inputs=at,mask"
     << (options.encoder_coordinates ? ",xyz" : "")
     << (options.encoder_slowness ? ",slowness,slowness*xyz" : "");
  return os.str();
}

// ---------------------------------------------------------------------------------- geometry --
FimGeometry prepare_fim_geometry(const CorpusGeometry& geometry, const MetaFimConfig& config,
                                 torch::Device device) {
  FimGeometry g;
  g.prepared = prepare_geometry(geometry.points, geometry.tets, geometry.observed, config.data,
                                int(config.model.kernel_size), device);
  geometry::TetMesh mesh;
  mesh.points = geometry.points;
  mesh.tets = geometry.tets;
  eikonal::FimOptions fo;
  fo.threads = 1;
  fo.tolerance = config.fim.tolerance;
  g.solver = std::make_shared<eikonal::FimSolver>(mesh, fo);
  g.neighbours = eikonal::mesh_neighbours(mesh);
  std::vector<int64_t> pairs;
  for (int b = 0; b < int(g.neighbours.size()); ++b)
    for (int a : g.neighbours[b])
      if (a < b) pairs.push_back(a), pairs.push_back(b);
  g.edges = torch::tensor(pairs, torch::kInt64).view({-1, 2}).to(device);
  return g;
}

Eigen::VectorXi early_mask(const Eigen::VectorXd& obs, const Eigen::VectorXi& observed,
                           double early_fraction) {
  const int n = int(obs.size());
  METAEIK_CHECK(observed.size() == n, "map has " << n << " values, the observation mask " << observed.size());
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; ++i)
    if (observed[i] && std::isfinite(obs[i])) lo = std::min(lo, obs[i]), hi = std::max(hi, obs[i]);
  const double cut = lo + early_fraction * (hi - lo);
  Eigen::VectorXi m = Eigen::VectorXi::Zero(n);
  for (int i = 0; i < n; ++i)
    m[i] = observed[i] && std::isfinite(obs[i]) && (early_fraction >= 1.0 || obs[i] <= cut);
  return m;
}

eikonal::SourceEstimate query_source(const FimGeometry& g, const Eigen::VectorXd& obs,
                                     const Eigen::VectorXi& observed, const MetaFimConfig& config) {
  Eigen::VectorXi mask = early_mask(obs, observed, config.data.early_fraction);
  if (mask.sum() < 2) mask = early_mask(obs, observed, 1.0);
  eikonal::AdjointFitOptions o;
  o.v_min = config.model.v_min;
  o.v_max = config.model.v_max;
  o.source_candidates = config.fim.source_candidates;
  o.source_search_steps = config.fim.source_search_steps;
  const Eigen::VectorXd y = obs.unaryExpr([](double t) { return std::isfinite(t) ? t : 0.0; });
  return eikonal::estimate_source(*g.solver, g.neighbours, y, mask, o);
}

torch::Tensor fim_query_times(const eikonal::FimSolver& solver, const torch::Tensor& speed, int source,
                              const torch::Tensor& y, const torch::Tensor& early) {
  const auto opts = speed.options();
  const std::vector<int> nodes{source};
  auto tau = fim_times(solver, speed, nodes, torch::zeros({1}, opts));
  auto e = early.to(opts) > 0.5;
  auto gap = torch::where(e, torch::nan_to_num(y.to(opts), 0.0) - tau, torch::zeros_like(tau));
  auto t0 = gap.sum() / e.sum().clamp_min(1).to(opts.dtype());
  return tau + t0;
}

// ------------------------------------------------------------------------ personalisation --
namespace {

Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.size(0));
}

torch::Tensor to_tensor(const Eigen::VectorXd& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone();
}

torch::Tensor to_tensor(const Eigen::VectorXi& v) {
  return torch::from_blob(const_cast<int*>(v.data()), {v.size()}, torch::kInt32).to(torch::kFloat64);
}

/// Source estimates per corpus map, computed on first use (training and validation share them).
using SourceCache = std::vector<std::optional<eikonal::SourceEstimate>>;

std::vector<EvaluationRow> evaluate_impl(LoadedMetaFim& m, const Corpus& corpus,
                                         const EvaluateOptions& options, bool progress,
                                         const std::vector<FimGeometry>* prepared, SourceCache* cache) {
  std::vector<int> subjects = options.subjects;
  if (subjects.empty()) subjects = subjects_by_geometry(corpus);
  std::stable_sort(subjects.begin(), subjects.end(),
                   [&](int a, int b) { return corpus.subjects[a].geometry < corpus.subjects[b].geometry; });
  std::vector<EvaluationPlan> plans;
  std::size_t total = 0;
  for (int s : subjects) {
    METAEIK_CHECK(s >= 0 && s < int(corpus.subjects.size()), "subject " << s << " is not in the data");
    plans.push_back(evaluation_plan(corpus, s, options));
    total += plans.back().queries.size();
  }
  METAEIK_CHECK(total > 0, "the data hold no query maps for this evaluation");
  std::vector<FimGeometry> own;
  if (!prepared) {
    for (const auto& g : corpus.geometries) own.push_back(prepare_fim_geometry(g, m.config, m.device));
    prepared = &own;
  }
  std::vector<EvaluationRow> rows;
  std::unique_ptr<core::ProgressBar> bar;
  if (progress) bar = std::make_unique<core::ProgressBar>("evaluate meta-FIM", total);
  int bound = -1;
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const int s = subjects[i];
    const auto& subject = corpus.subjects[s];
    const auto& geometry = corpus.geometries[subject.geometry];
    const auto& g = (*prepared)[subject.geometry];
    if (bound != subject.geometry)  // the encoder's per-edge weights for this geometry, untimed
      meta_fim_context_pass(m, g, {Eigen::VectorXd::Zero(g.prepared.num_nodes)}, geometry.observed);
    bound = subject.geometry;
    std::vector<Eigen::VectorXd> contexts;
    for (int c : plans[i].contexts) contexts.push_back(corpus.maps[c].observation);
    const auto context = meta_fim_context_pass(m, g, contexts, geometry.observed);
    for (int q : plans[i].queries) {
      const auto& map = corpus.maps[q];
      const eikonal::SourceEstimate* known = nullptr;
      if (cache) {
        auto& slot = (*cache)[q];
        if (!slot) slot = query_source(g, map.observation, geometry.observed, m.config);
        known = &*slot;
      }
      auto p = personalize_meta_fim(m, g, context, map.observation, geometry.observed, known);
      p.forward_seconds += context.seconds;
      rows.push_back(
          {s, map.id, plans[i].context_subject, map_metrics(p, map.truth, subject.speed, geometry.observed)});
      if (bar) bar->advance();
    }
  }
  return rows;
}

}  // namespace

ContextPass meta_fim_context_pass(LoadedMetaFim& m, const FimGeometry& g,
                                  const std::vector<Eigen::VectorXd>& contexts,
                                  const Eigen::VectorXi& observed) {
  METAEIK_CHECK(!contexts.empty(), "personalisation needs at least one context map");
  const auto& pg = g.prepared;
  for (const auto& c : contexts)
    METAEIK_CHECK(c.size() == pg.num_nodes,
                  "a context map has " << c.size() << " values, the mesh " << pg.num_nodes << " nodes");
  core::Stopwatch watch;
  const auto& d = m.config.data;
  std::vector<torch::Tensor> ctx;
  for (const auto& c : contexts) ctx.push_back(map_features(c, observed, pg.scaling, d.feature_time, 1.0));
  torch::NoGradGuard guard;
  ContextPass pass;
  pass.c = m.model->context_embedding(torch::stack(ctx).to(m.device), pg.levels, pg.nodes);
  pass.speed = m.model->speed_of_logits(m.model->speed_logits(pg.nodes, m.model->velocity_weights(pass.c)));
  pass.seconds = watch.seconds();
  return pass;
}

Personalization personalize_meta_fim(LoadedMetaFim& m, const FimGeometry& g, const ContextPass& context,
                                     const Eigen::VectorXd& query, const Eigen::VectorXi& observed,
                                     const eikonal::SourceEstimate* known) {
  METAEIK_CHECK(query.size() == g.prepared.num_nodes, "the query map has "
                                                          << query.size() << " values, the mesh "
                                                          << g.prepared.num_nodes << " nodes");
  core::Stopwatch watch;
  const eikonal::SourceEstimate source = known ? *known : query_source(g, query, observed, m.config);
  const Eigen::VectorXi early = early_mask(query, observed, m.config.data.early_fraction);
  torch::NoGradGuard guard;
  auto v = (context.speed * m.config.data.speed_scale).to(torch::kCPU, torch::kFloat64);
  Personalization p;
  p.times =
      to_eigen(fim_query_times(*g.solver, v, source.source.node, to_tensor(query),
                               early.sum() >= 1 ? to_tensor(early) : to_tensor(Eigen::VectorXi(observed))));
  p.speed = to_eigen(v);
  p.forward_seconds = watch.seconds();
  p.residual = Eigen::VectorXd::Constant(p.times.size(), NAN);
  return p;
}

std::vector<EvaluationRow> evaluate_meta_fim(LoadedMetaFim& m, const Corpus& corpus,
                                             const EvaluateOptions& options, bool progress,
                                             const std::vector<FimGeometry>* prepared) {
  return evaluate_impl(m, corpus, options, progress, prepared, nullptr);
}

// ------------------------------------------------------------------------------- checkpoints --
namespace {

void save_checkpoint(const fs::path& path, MetaFim& model, torch::optim::Optimizer& optimizer, int epoch,
                     double best) {
  save_meta_checkpoint(path, *model, optimizer, model->signature(), epoch, best);
}

/// Loads parameters (and optionally the optimiser state); returns (epoch, best).
std::pair<int, double> load_checkpoint(const fs::path& path, MetaFim& model,
                                       torch::optim::Optimizer* optimizer, torch::Device device) {
  return load_meta_checkpoint(path, *model, optimizer, model->signature(), device);
}

/// Per-map tensors of the training loop (double, CPU; the solve's side).
struct FimMap {
  torch::Tensor features;     ///< [N, 2] context features (model device)
  torch::Tensor observation;  ///< [N] ms (0 where not finite)
  torch::Tensor observed;     ///< [N] 1 where observed and finite
  torch::Tensor truth;        ///< [N] ms
  torch::Tensor early;        ///< [N] 1 on the early observations
};

}  // namespace

LoadedMetaFim load_meta_fim(const fs::path& run_dir, const std::string& device, const std::string& which) {
  METAEIK_CHECK(fs::is_directory(run_dir), "model directory '" << run_dir.string() << "' does not exist");
  const fs::path cfg = run_dir / "config.json";
  METAEIK_CHECK(fs::is_regular_file(cfg),
                "'" << run_dir.string() << "' is not a training run (config.json is missing)");
  const core::Json json = core::load_json_file(cfg);
  METAEIK_CHECK(is_meta_fim_config(json), cfg.string() << ": not a meta-FIM run (no \"fim\" section)");
  LoadedMetaFim m;
  m.config = read_meta_fim_config(json, cfg.string());
  m.device = parse_device(device);
  m.model = MetaFim(m.config.model, m.config.data.speed_scale);
  m.model->to(m.device);
  fs::path ckpt = run_dir / (which + ".pt");
  if (!fs::exists(ckpt) && which == "best") ckpt = run_dir / "last.pt";
  m.epoch = load_checkpoint(ckpt, m.model, nullptr, m.device).first;
  m.model->eval();
  return m;
}

// ---------------------------------------------------------------------------------- training --
void train_meta_fim(MetaFimConfig config, const Corpus& corpus, const fs::path& run_dir, bool resume,
                    const std::string& device_name) {
  const auto& t = config.train;
  METAEIK_CHECK(!corpus.subjects.empty(), "training data holds no subjects");
  const auto held_out = held_out_subjects(corpus, t.holdout, t.holdout_geometry);
  std::vector<int> subjects;
  for (int s = 0; s < int(corpus.subjects.size()); ++s)
    if (std::find(held_out.begin(), held_out.end(), s) == held_out.end()) subjects.push_back(s);
  METAEIK_CHECK(!subjects.empty(), "holdout '" << t.holdout << "' leaves no subject to train on");
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
    MetaFimConfig stored = load_meta_fim_config(run_dir / "config.json");
    if (to_json(stored)["model"] != to_json(config)["model"] ||
        to_json(stored)["fim"] != to_json(config)["fim"])
      spdlog::warn("--resume: using the settings stored in {}", (run_dir / "config.json").string());
    stored.train.epochs = config.train.epochs;
    config = stored;
  } else {
    METAEIK_CHECK(
        !fs::exists(last_path),
        "'" << run_dir.string() << "' already holds a training run; use --resume or another directory");
    if (config.data.feature_time <= 0) config.data.feature_time = max_training_time(corpus, config.data);
    fs::create_directories(run_dir);
    core::save_json_file(run_dir / "config.json", to_json(config));
  }

  std::vector<FimGeometry> geometries;
  for (const auto& g : corpus.geometries) geometries.push_back(prepare_fim_geometry(g, config, device));
  std::vector<FimMap> maps(corpus.maps.size());
  for (std::size_t i = 0; i < corpus.maps.size(); ++i) {
    const auto& cm = corpus.maps[i];
    const int gi = corpus.subjects[cm.subject].geometry;
    const auto& g = corpus.geometries[gi];
    auto& fm = maps[i];
    fm.features = map_features(cm.observation, g.observed, geometries[gi].prepared.scaling,
                               config.data.feature_time, 1.0)
                      .to(device);
    fm.observation = torch::nan_to_num(to_tensor(cm.observation), 0.0, 0.0, 0.0);
    fm.observed = to_tensor(early_mask(cm.observation, g.observed, 1.0));
    fm.truth = to_tensor(cm.truth);
    fm.early = to_tensor(early_mask(cm.observation, g.observed, config.data.early_fraction));
  }
  SourceCache sources(corpus.maps.size());

  MetaFim model{nullptr};
  {
    static std::mutex init_mutex;
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(t.seed);
    model = MetaFim(config.model, config.data.speed_scale);
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
    log << "epoch,step,data_loss,prior_loss,total_loss,lr,seconds,val_at_corr,val_v_corr,val_at_rel_error\n";

  LoadedMetaFim view;
  view.config = config;
  view.model = model;
  view.device = device;

  const bool all_nodes = t.supervision == "all";
  const double speed_scale = config.data.speed_scale;
  core::ProgressBar bar("train meta-FIM", std::size_t(std::max(0, t.epochs - start_epoch)) * S);
  for (int epoch = start_epoch; epoch < t.epochs; ++epoch) {
    core::Stopwatch watch;
    model->train();
    auto rng = core::make_rng(t.seed, std::uint64_t(epoch) + 1);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(core::mix_seed(t.seed * 1000003ULL + epoch));
    std::vector<int> order = subjects;
    std::shuffle(order.begin(), order.end(), rng);
    double sum_data = 0, sum_prior = 0, sum_total = 0, lr = 0;
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
      const int gi = corpus.subjects[s].geometry;
      const auto& g = geometries[gi];
      std::vector<torch::Tensor> ctx;
      for (int i = 0; i < t.k; ++i) ctx.push_back(maps[pool[i]].features);
      auto c = model->context_embedding(torch::stack(ctx), g.prepared.levels, g.prepared.nodes);
      auto logits = model->speed_logits(g.prepared.nodes, model->velocity_weights(c));
      auto v_scaled = model->speed_of_logits(logits);                      // [N] v'
      auto v = (v_scaled * speed_scale).to(torch::kCPU, torch::kFloat64);  // mm/ms, the solve's side
      const double tau = g.prepared.scaling.time;
      torch::Tensor data_loss = torch::zeros({}, torch::kFloat64);
      for (int i = 0; i < nq; ++i) {
        const int q = pool[t.k + i];
        const auto& fm = maps[q];
        auto& slot = sources[q];
        if (!slot) slot = query_source(g, corpus.maps[q].observation, corpus.geometries[gi].observed, config);
        auto T = fim_query_times(*g.solver, v, slot->source.node, fm.observation, fm.early);
        torch::Tensor target = fm.observation, mask = fm.observed;
        if (all_nodes) {
          target = fm.truth;
          mask = (torch::rand({g.prepared.num_nodes}, gen) < t.supervision_fraction).to(torch::kFloat64);
        }
        data_loss = data_loss + (((T - target) / tau).pow(2) * mask).sum() / mask.sum().clamp_min(1.0);
      }
      data_loss = data_loss / double(std::max(1, nq));
      torch::Tensor prior = torch::zeros({}, v_scaled.options());
      if (config.fim.prior == "laplacian" && config.fim.prior_weight > 0)
        prior =
            (v_scaled.index_select(0, g.edges.select(1, 0)) - v_scaled.index_select(0, g.edges.select(1, 1)))
                .pow(2)
                .mean();
      auto loss = data_loss.to(v_scaled.device(), v_scaled.scalar_type()) + config.fim.prior_weight * prior;
      if (t.velocity_logit_penalty > 0)
        loss = loss + t.velocity_logit_penalty * functional::saturation_penalty(logits);
      optimizer.zero_grad();
      loss.backward();
      if (t.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), t.grad_clip);
      optimizer.step();
      sum_data += data_loss.item<double>();
      sum_prior += prior.item<double>();
      sum_total += loss.item<double>();
      bar.advance();
    }
    const double seconds = watch.seconds();
    const bool validate = (epoch + 1) % t.val_every == 0 || epoch + 1 == t.epochs;
    std::string val_cols = ",,";
    if (validate) {
      model->eval();
      EvaluateOptions eo;
      eo.k = t.k;
      eo.split = t.val_split;
      eo.seed = t.seed;
      eo.max_queries = t.val_queries;
      eo.subjects = subjects;
      auto rows = evaluate_impl(view, corpus, eo, /*progress=*/false, &geometries, &sources);
      std::vector<double> at, vc, rel;
      for (const auto& r : rows) {
        at.push_back(r.metrics.at_corr);
        vc.push_back(r.metrics.v_corr);
        rel.push_back(r.metrics.at_rel_error);
      }
      const double at_corr = mean_std(at).mean;
      val_cols = fmt::format("{},{},{}", at_corr, mean_std(vc).mean, mean_std(rel).mean);
      bar.set_status(fmt::format("val AT corr {:.3f}, v corr {:.3f}", at_corr, mean_std(vc).mean));
      if (at_corr > best || !fs::exists(best_path)) {
        best = std::max(best, at_corr);
        save_checkpoint(best_path, model, optimizer, epoch + 1, best);
      }
    }
    log << epoch + 1 << ',' << (long long)(epoch + 1) * S << ',' << sum_data / S << ',' << sum_prior / S
        << ',' << sum_total / S << ',' << lr << ',' << seconds << ',' << val_cols << '\n';
    log.flush();
    save_checkpoint(last_path, model, optimizer, epoch + 1, best);
  }
  bar.finish();
}

}  // namespace metaeik::metapinn
