#include "metapinn/personalize.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"

namespace metaeik::metapinn {

namespace {
Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.size(0));
}
}  // namespace

ContextPass context_pass(LoadedModel& m, const PreparedGeometry& g,
                         const std::vector<Eigen::VectorXd>& contexts, const Eigen::VectorXi& observed) {
  METAEIK_CHECK(!contexts.empty(), "personalisation needs at least one context map");
  for (const auto& c : contexts)
    METAEIK_CHECK(c.size() == g.num_nodes,
                  "a context map has " << c.size() << " values, the mesh " << g.num_nodes << " nodes");
  core::Stopwatch watch;
  const auto& d = m.config.data;
  std::vector<torch::Tensor> ctx;
  for (const auto& c : contexts) ctx.push_back(map_features(c, observed, g.scaling, d.feature_time, 1.0));
  torch::NoGradGuard guard;
  ContextPass pass;
  pass.c = m.model->context_embedding(torch::stack(ctx).to(m.device), g.levels, g.nodes);
  pass.speed = m.model->speed(g.nodes, m.model->velocity_weights(pass.c));
  pass.seconds = watch.seconds();
  return pass;
}

Personalization personalize(LoadedModel& m, const PreparedGeometry& g, const ContextPass& context,
                            const Eigen::VectorXd& query, const Eigen::VectorXi& observed) {
  METAEIK_CHECK(query.size() == g.num_nodes,
                "the query map has " << query.size() << " values, the mesh " << g.num_nodes << " nodes");
  core::Stopwatch watch;
  const auto& d = m.config.data;
  auto qf =
      map_features(query, observed, g.scaling, d.feature_time, d.early_fraction).unsqueeze(0).to(m.device);
  torch::NoGradGuard guard;
  torch::Tensor sources;
  if (m.model->options.source_distance) sources = m.model->source_points(qf, g.nodes);
  auto wt = m.model->pinn_weights(context.c, m.model->source_embedding(qf, g.levels, g.nodes));
  auto x = g.nodes.unsqueeze(0);
  Personalization p;
  p.times = to_eigen(m.model->time(x, wt, sources)) * g.scaling.time;
  p.speed = to_eigen(context.speed) * d.speed_scale;
  p.forward_seconds = watch.seconds();
  auto gradient = m.model->time_and_gradient(x, wt, sources).second;
  p.residual = to_eigen(functional::eikonal_residual(gradient, context.speed.unsqueeze(0)));
  return p;
}

Personalization personalize(LoadedModel& m, const PreparedGeometry& g,
                            const std::vector<Eigen::VectorXd>& contexts, const Eigen::VectorXd& query,
                            const Eigen::VectorXi& observed) {
  const auto context = context_pass(m, g, contexts, observed);
  auto p = personalize(m, g, context, query, observed);
  p.forward_seconds += context.seconds;
  return p;
}

void bind_geometry(LoadedModel& m, const PreparedGeometry& g, const Eigen::VectorXi& observed) {
  const Eigen::VectorXd blank = Eigen::VectorXd::Zero(g.num_nodes);
  personalize(m, g, std::vector<Eigen::VectorXd>{blank}, blank, observed);
}

std::vector<int> subjects_by_geometry(const Corpus& corpus) {
  std::vector<int> order(corpus.subjects.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return corpus.subjects[a].geometry < corpus.subjects[b].geometry; });
  return order;
}

double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  if (a.size() < 2 || a.size() != b.size()) return NAN;
  const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
  const double den = std::sqrt((x * x).sum() * (y * y).sum());
  return den > 0 ? (x * y).sum() / den : NAN;
}

double relative_error(const Eigen::VectorXd& pred, const Eigen::VectorXd& truth) {
  if (truth.size() == 0) return NAN;
  const double range = truth.maxCoeff() - truth.minCoeff();
  const double rmse = std::sqrt((pred - truth).squaredNorm() / double(truth.size()));
  return range > 0 ? rmse / range : NAN;
}

MapMetrics map_metrics(const Personalization& p, const Eigen::VectorXd& at, const Eigen::VectorXd& v,
                       const Eigen::VectorXi& observed) {
  MapMetrics m;
  m.at_rel_error = relative_error(p.times, at);
  m.at_corr = pearson(p.times, at);
  std::vector<int> endo, rest;
  for (int i = 0; i < at.size(); ++i) (observed[i] ? endo : rest).push_back(i);
  auto pick = [](const Eigen::VectorXd& x, const std::vector<int>& idx) {
    Eigen::VectorXd y(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) y[i] = x[idx[i]];
    return y;
  };
  // Stratified errors are relative to the range of the whole map's truth.
  const double range = at.maxCoeff() - at.minCoeff();
  auto strat_rel = [&](const std::vector<int>& idx) {
    if (idx.empty() || range <= 0) return double(NAN);
    return std::sqrt((pick(p.times, idx) - pick(at, idx)).squaredNorm() / double(idx.size())) / range;
  };
  m.at_rel_error_endo = strat_rel(endo);
  m.at_rel_error_rest = strat_rel(rest);
  m.at_corr_endo = pearson(pick(p.times, endo), pick(at, endo));
  m.at_corr_rest = pearson(pick(p.times, rest), pick(at, rest));
  if (v.size() == at.size()) {
    m.v_rel_error = relative_error(p.speed, v);
    m.v_corr = pearson(p.speed, v);
  } else {
    m.v_rel_error = m.v_corr = NAN;
  }
  m.residual = p.residual.cwiseAbs().mean();
  m.seconds = p.forward_seconds;
  return m;
}

EvaluationPlan evaluation_plan(const Corpus& corpus, int s, const EvaluateOptions& o) {
  METAEIK_CHECK(o.k >= 1, "k must be at least 1, got " << o.k);
  METAEIK_CHECK(o.contexts == "train" || o.contexts == "other" || o.contexts == "first",
                "contexts: expected 'train', 'other' or 'first', got '" << o.contexts << "'");
  EvaluationPlan plan;
  plan.context_subject = s;
  if (o.contexts == "first") {
    auto all = corpus.maps_of(s);
    const int start = std::max(o.k, o.query_start);
    METAEIK_CHECK(int(all.size()) > start, "subject " << s << " has " << all.size() << " maps; " << start
                                                      << " contexts leave no query");
    plan.contexts.assign(all.begin(), all.begin() + o.k);
    plan.queries.assign(all.begin() + start, all.end());
  } else {
    if (o.contexts == "other") {
      const int g = corpus.subjects[s].geometry, S = int(corpus.subjects.size());
      plan.context_subject = -1;
      for (int i = 1; i < S && plan.context_subject < 0; ++i)
        if (corpus.subjects[(s + i) % S].geometry == g) plan.context_subject = (s + i) % S;
      METAEIK_CHECK(plan.context_subject >= 0,
                    "contexts 'other': subject " << s << " is the only subject of its geometry");
    }
    auto pool = corpus.maps_of(plan.context_subject, "train");
    METAEIK_CHECK(int(pool.size()) >= o.k, "k = " << o.k << " is larger than the " << pool.size()
                                                  << " training maps of subject " << plan.context_subject);
    auto rng = core::make_rng(o.seed, 0x6576616cULL + std::uint64_t(plan.context_subject));
    std::shuffle(pool.begin(), pool.end(), rng);
    plan.contexts.assign(pool.begin(), pool.begin() + o.k);
    plan.queries = corpus.maps_of(s, o.split);
  }
  if (o.max_queries > 0 && int(plan.queries.size()) > o.max_queries) plan.queries.resize(o.max_queries);
  return plan;
}

std::vector<EvaluationRow> evaluate(LoadedModel& model, const Corpus& corpus, const EvaluateOptions& options,
                                    bool progress, const std::vector<PreparedGeometry>* prepared) {
  std::vector<int> subjects = options.subjects;
  if (subjects.empty())
    for (int s : subjects_by_geometry(corpus)) subjects.push_back(s);
  std::stable_sort(subjects.begin(), subjects.end(),
                   [&](int a, int b) { return corpus.subjects[a].geometry < corpus.subjects[b].geometry; });
  std::vector<EvaluationPlan> plans;
  std::size_t total = 0;
  for (int s : subjects) {
    METAEIK_CHECK(s >= 0 && s < int(corpus.subjects.size()), "subject " << s << " is not in the data");
    plans.push_back(evaluation_plan(corpus, s, options));
    total += plans.back().queries.size();
  }
  const std::string none = options.contexts == "first"
                               ? std::string("the evaluated subjects hold no query maps")
                               : "the data hold no maps in split '" + options.split + "'";
  METAEIK_CHECK(total > 0, none);
  std::vector<PreparedGeometry> own;
  if (!prepared) {
    for (const auto& g : corpus.geometries)
      own.push_back(prepare_geometry(g.points, g.tets, g.observed, model.config.data,
                                     int(model.config.model.kernel_size), model.device));
    prepared = &own;
  }
  const bool reference_query = model.config.data.query_input == "reference";
  std::vector<EvaluationRow> rows;
  std::unique_ptr<core::ProgressBar> bar;
  if (progress) bar = std::make_unique<core::ProgressBar>("evaluate", total);
  int bound = -1;  // geometry whose per-edge weights the encoders hold
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const int s = subjects[i];
    const auto& subject = corpus.subjects[s];
    const auto& geometry = corpus.geometries[subject.geometry];
    const auto& g = (*prepared)[subject.geometry];
    if (bound != subject.geometry) bind_geometry(model, g, geometry.observed);
    bound = subject.geometry;
    std::vector<Eigen::VectorXd> contexts;
    for (int c : plans[i].contexts) contexts.push_back(corpus.maps[c].observation);
    const auto context = context_pass(model, g, contexts, geometry.observed);
    const Eigen::VectorXi everywhere = Eigen::VectorXi::Ones(geometry.observed.size());
    for (int q : plans[i].queries) {
      const auto& map = corpus.maps[q];
      auto p = reference_query ? personalize(model, g, context, map.truth, everywhere)
                               : personalize(model, g, context, map.observation, geometry.observed);
      p.forward_seconds += context.seconds;
      rows.push_back(
          {s, map.id, plans[i].context_subject, map_metrics(p, map.truth, subject.speed, geometry.observed)});
      if (bar) bar->advance();
    }
  }
  return rows;
}

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  double sum = 0, sum2 = 0;
  int n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, sum2 += v * v, ++n;
  if (n == 0) return {NAN, NAN};
  r.mean = sum / n;
  r.std = std::sqrt(std::max(0.0, sum2 / n - r.mean * r.mean));
  return r;
}

}  // namespace metaeik::metapinn
