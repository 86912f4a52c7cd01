// The method stages of run_experiment: physics-based fits (BOBYQA over regions; L-BFGS over node speeds
// with the FIM adjoint), the trained meta models at every k
// (and the shuffled-context control), and the multi-PINN fits.

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "eikonal/speed_fit.hpp"
#include "eikonal/speed_fit_adjoint.hpp"
#include "metapinn/experiment_detail.hpp"
#include "metapinn/meta_fim.hpp"
#include "metapinn/personalize.hpp"

namespace fs = std::filesystem;

namespace metaeik::metapinn::detail {

bool ExperimentState::wants(const std::string& m) const {
  return std::find(config.methods.begin(), config.methods.end(), m) != config.methods.end();
}

EvaluateOptions ExperimentState::plan_options(int k, const std::string& contexts) const {
  EvaluateOptions o;
  o.k = k;
  o.split = "test";
  o.contexts = config.holdout == "none" ? contexts : "first";
  o.seed = config.seed;
  o.max_queries = config.max_test_maps_per_subject;
  o.query_start = all_ks.back();  // held-out tasks: the same queries at every k
  return o;
}

ExperimentRow row_of(const std::string& method, int subject, int map, int k, const MapMetrics& m,
                     double seconds) {
  ExperimentRow r;
  r.method = method;
  r.subject = subject;
  r.map = map;
  r.k = k;
  r.at_rel_error = m.at_rel_error;
  r.at_corr = m.at_corr;
  r.v_rel_error = m.v_rel_error;
  r.v_corr = m.v_corr;
  r.residual = m.residual;
  r.seconds = seconds;
  r.at_rel_error_endo = m.at_rel_error_endo;
  r.at_corr_endo = m.at_corr_endo;
  r.at_rel_error_rest = m.at_rel_error_rest;
  r.at_corr_rest = m.at_corr_rest;
  return r;
}

/// Fits every test map in parallel (`fit(map, geometry)` returns a result with times, node_speed
/// and seconds; each solve single-threaded) and records the method's rows and examples.
template <class Fit>
void fit_test_maps(ExperimentState& st, const std::string& method, const core::Stopwatch& watch, Fit fit) {
  const auto& corpus = st.corpus;
  std::vector<int> jobs;
  for (int s : st.test_subjects)
    for (int q : st.tests[s]) jobs.push_back(q);
  std::vector<decltype(fit(corpus.maps[0], 0))> fits(jobs.size());
  core::ProgressBar bar(method, jobs.size());
  const int threads = st.config.physics_threads > 0 ? st.config.physics_threads : omp_get_max_threads();
  std::string error;
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    try {
      const auto& cm = corpus.maps[jobs[j]];
      fits[j] = fit(cm, corpus.subjects[cm.subject].geometry);
    } catch (const std::exception& e) {
#pragma omp critical
      error = e.what();
    }
    bar.advance();
  }
  METAEIK_CHECK(error.empty(), method_label(method) << " fit: " << error);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& cm = corpus.maps[jobs[j]];
    const auto& subject = corpus.subjects[cm.subject];
    Personalization p;
    p.times = fits[j].times;
    p.speed = fits[j].node_speed;
    p.residual = Eigen::VectorXd::Constant(p.times.size(), NAN);
    auto m = map_metrics(p, cm.truth, subject.speed, corpus.geometries[subject.geometry].observed);
    m.residual = NAN;
    st.rows.push_back(row_of(method, cm.subject, cm.id, 0, m, fits[j].seconds));
    if (st.example_maps.count(jobs[j])) st.examples[{method, jobs[j]}] = {p.times, p.speed, {}};
  }
  st.method_seconds[method] = watch.seconds();
}

// --- physics-based: BOBYQA over segment (or group) speeds, FIM forward model ---------------------
void run_physics(ExperimentState& st, const std::string& method) {
  const auto& config = st.config;
  const auto& corpus = st.corpus;
  core::Stopwatch watch;
  spdlog::info("experiment: {} fits (BOBYQA, ≤ {} FIM solves per map)", method_label(method),
               config.physics.max_evaluations);
  std::vector<std::unique_ptr<eikonal::FimSolver>> solvers;
  std::vector<Eigen::VectorXi> regions;
  eikonal::FimOptions fo;
  fo.threads = 1;  // maps run in parallel, each solve single-threaded
  for (int g = 0; g < int(st.dataset.geometries().size()); ++g) {
    const auto& mesh = st.dataset.mesh(g);
    METAEIK_CHECK(mesh.has_point_array("aha"), st.dataset.geometries()[g].file
                                                   << ": geometry has no point array 'aha' for the "
                                                   << method_label(method) << " baseline");
    solvers.push_back(std::make_unique<eikonal::FimSolver>(mesh, fo));
    const Eigen::VectorXi aha = mesh.point_labels("aha");
    regions.push_back(method == "physics_groups" ? eikonal::aha_group_regions(aha)
                                                 : eikonal::aha_segment_regions(aha));
  }
  fit_test_maps(st, method, watch, [&](const CorpusMap& cm, int g) {
    return eikonal::fit_region_speeds(*solvers[g], regions[g], st.dataset.maps()[cm.id].sources,
                                      cm.observation, corpus.geometries[g].observed, config.physics);
  });
}

// --- physics-based adjoint: per-node speeds, source and onset by L-BFGS with the FIM adjoint -------
void run_physics_adjoint(ExperimentState& st) {
  const std::string method = "physics_adjoint";
  const auto& config = st.config;
  const auto& corpus = st.corpus;
  core::Stopwatch watch;
  spdlog::info("experiment: {} fits (L-BFGS, ≤ {} evaluations per map, {} prior weight {})",
               method_label(method), config.physics_adjoint.max_evaluations, config.physics_adjoint.prior,
               config.physics_adjoint.prior_weight);
  std::vector<std::unique_ptr<eikonal::FimSolver>> solvers;
  eikonal::FimOptions fo;
  fo.threads = 1;  // maps run in parallel, each solve single-threaded
  for (int g = 0; g < int(st.dataset.geometries().size()); ++g)
    solvers.push_back(std::make_unique<eikonal::FimSolver>(st.dataset.mesh(g), fo));
  fit_test_maps(st, method, watch, [&](const CorpusMap& cm, int g) {
    return eikonal::fit_node_speeds_adjoint(*solvers[g], st.dataset.mesh(g), cm.observation,
                                            corpus.geometries[g].observed, config.physics_adjoint);
  });
}

// --- meta methods: personalise at every k (and the control), one trained model per seed --------
void run_meta(ExperimentState& st, const std::string& name,
              const std::vector<std::pair<std::uint64_t, fs::path>>& runs, const std::string& checkpoint) {
  const auto& config = st.config;
  const auto& corpus = st.corpus;
  // The control needs another subject on each geometry; without one it is skipped (and logged).
  bool control = name == "meta_pinn" && config.context_control && config.holdout == "none";
  for (int s : st.test_subjects) {
    int same = 0;
    for (const auto& other : corpus.subjects) same += other.geometry == corpus.subjects[s].geometry;
    if (control && same < 2) {
      spdlog::warn("experiment: no shuffled-context control: geometry {} has a single subject",
                   corpus.subjects[s].geometry);
      control = false;
    }
  }
  core::Stopwatch watch;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& [seed, run_dir] = runs[r];
    auto model = load_model(run_dir, config.device, checkpoint);
    if (config.threads > 0) set_threads(config.threads);
    // Per geometry (once per heart, like the physics-based FIM solver set-up): the graph
    // hierarchy and spline bases, then a pass on a blank map that fills the encoders' per-edge
    // weights for this geometry. Subjects run grouped by geometry, so every timed pass finds them.
    std::vector<PreparedGeometry> prepared;
    for (const auto& g : corpus.geometries) {
      core::Stopwatch w;
      prepared.push_back(prepare_geometry(g.points, g.tets, g.observed, model.config.data,
                                          int(model.config.model.kernel_size), model.device));
      bind_geometry(model, prepared.back(), g.observed);
      if (r == 0) st.geometry_seconds[name].push_back(w.seconds());
    }
    std::vector<std::pair<int, std::string>> passes;  // (k, contexts)
    for (int k : st.all_ks) passes.push_back({k, "train"});
    if (control) passes.push_back({config.k, "other"});
    const bool reference_query = model.config.data.query_input == "reference";
    core::ProgressBar bar(name + " seed " + std::to_string(seed), st.test_count * passes.size());
    for (const auto& [k, contexts] : passes) {
      const std::string method = contexts == "other" ? name + "_other" : name;
      const auto options = st.plan_options(k, contexts);
      int bound = -1;  // geometry whose per-edge weights the encoders hold
      for (int s : subjects_by_geometry(corpus)) {
        if (st.tests[s].empty()) continue;
        const auto& subject = corpus.subjects[s];
        const auto& geometry = corpus.geometries[subject.geometry];
        if (bound != subject.geometry)
          bind_geometry(model, prepared[bound = subject.geometry], geometry.observed);
        const auto plan = evaluation_plan(corpus, s, options);
        std::vector<Eigen::VectorXd> ctx;
        for (int c : plan.contexts) ctx.push_back(corpus.maps[c].observation);
        // One context pass per subject, shared by its test maps (each is charged an equal part).
        const auto context = context_pass(model, prepared[subject.geometry], ctx, geometry.observed);
        const double context_share = context.seconds / double(st.tests[s].size());
        const bool main = k == config.k && contexts == "train";
        if (main && r == 0) st.pass_times[name].context.push_back(context.seconds);
        const Eigen::VectorXi everywhere = Eigen::VectorXi::Ones(geometry.observed.size());
        for (int q : st.tests[s]) {
          const auto& cm = corpus.maps[q];
          auto p = reference_query
                       ? personalize(model, prepared[subject.geometry], context, cm.truth, everywhere)
                       : personalize(model, prepared[subject.geometry], context, cm.observation,
                                     geometry.observed);
          if (main && r == 0) st.pass_times[name].query.push_back(p.forward_seconds);
          auto m = map_metrics(p, cm.truth, subject.speed, geometry.observed);
          if (name == "meta_neural") m.v_rel_error = m.v_corr = m.residual = NAN;  // AT only
          st.rows.push_back(row_of(method, s, cm.id, k, m, p.forward_seconds + context_share));
          st.rows.back().seed = seed;
          if (main && r == 0 && st.example_maps.count(q))
            st.examples[{name, q}] =
                name == "meta_neural" ? Example{p.times, {}, {}} : Example{p.times, p.speed, p.residual};
          bar.advance();
        }
      }
    }
  }
  st.method_seconds[name] = watch.seconds();
}

// --- meta-FIM: the meta-learned velocity, T by one FIM solve, at every k, one trained model per seed ---
void run_meta_fim(ExperimentState& st, const std::vector<std::pair<std::uint64_t, fs::path>>& runs,
                  const std::string& checkpoint) {
  const std::string name = "meta_fim";
  const auto& config = st.config;
  const auto& corpus = st.corpus;
  core::Stopwatch watch;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& [seed, run_dir] = runs[r];
    auto model = load_meta_fim(run_dir, config.device, checkpoint);
    if (config.threads > 0) set_threads(config.threads);
    // Per geometry (untimed, like the other methods' set-up): graph hierarchy, spline bases, the FIM
    // solver's topology, and a pass on a blank map that fills the encoder's per-edge weights.
    std::vector<FimGeometry> prepared;
    for (const auto& g : corpus.geometries) {
      core::Stopwatch w;
      prepared.push_back(prepare_fim_geometry(g, model.config, model.device));
      meta_fim_context_pass(model, prepared.back(), {Eigen::VectorXd::Zero(g.points.rows())}, g.observed);
      if (r == 0) st.geometry_seconds[name].push_back(w.seconds());
    }
    core::ProgressBar bar("meta-FIM seed " + std::to_string(seed), st.test_count * st.all_ks.size());
    for (int k : st.all_ks) {
      const auto options = st.plan_options(k, "train");
      int bound = -1;  // geometry whose per-edge weights the encoder holds
      for (int s : subjects_by_geometry(corpus)) {
        if (st.tests[s].empty()) continue;
        const auto& subject = corpus.subjects[s];
        const auto& geometry = corpus.geometries[subject.geometry];
        const auto& g = prepared[subject.geometry];
        if (bound != subject.geometry)
          meta_fim_context_pass(model, g, {Eigen::VectorXd::Zero(geometry.points.rows())}, geometry.observed);
        bound = subject.geometry;
        const auto plan = evaluation_plan(corpus, s, options);
        std::vector<Eigen::VectorXd> ctx;
        for (int c : plan.contexts) ctx.push_back(corpus.maps[c].observation);
        // One context pass per subject, shared by its test maps (each is charged an equal part).
        const auto context = meta_fim_context_pass(model, g, ctx, geometry.observed);
        const double context_share = context.seconds / double(st.tests[s].size());
        const bool main = k == config.k;
        if (main && r == 0) st.pass_times[name].context.push_back(context.seconds);
        for (int q : st.tests[s]) {
          const auto& cm = corpus.maps[q];
          auto p = personalize_meta_fim(model, g, context, cm.observation, geometry.observed);
          if (main && r == 0) st.pass_times[name].query.push_back(p.forward_seconds);
          auto m = map_metrics(p, cm.truth, subject.speed, geometry.observed);
          m.residual = NAN;  // T is a solve of the discrete Eikonal equation
          st.rows.push_back(row_of(name, s, cm.id, k, m, p.forward_seconds + context_share));
          st.rows.back().seed = seed;
          if (main && r == 0 && st.example_maps.count(q))
            st.examples[{name, q}] = Example{p.times, p.speed, {}};
          bar.advance();
        }
      }
    }
  }
  st.method_seconds[name] = watch.seconds();
}

// --- multi-PINN: one PINN per test map + a shared velocity-net per subject, from scratch --------
void run_multi_pinn(ExperimentState& st) {
  const auto& config = st.config;
  const auto& corpus = st.corpus;
  core::Stopwatch watch;
  spdlog::info("experiment: multi-PINN fits ({} Adam steps per subject)", config.multi_pinn.iterations);
  core::ProgressBar bar("multi-PINN", st.test_subjects.size());
  for (int s : st.test_subjects) {
    const auto& subject = corpus.subjects[s];
    const auto& geometry = corpus.geometries[subject.geometry];
    std::vector<Eigen::VectorXd> obs;
    for (int q : st.tests[s]) obs.push_back(corpus.maps[q].observation);
    MultiPinnOptions o = config.multi_pinn;
    o.seed = config.seed * 1000003ULL + std::uint64_t(s);
    o.threads = config.threads;
    auto fit = fit_multi_pinn(geometry.points, geometry.tets, geometry.observed, obs, o);
    for (std::size_t j = 0; j < st.tests[s].size(); ++j) {
      const auto& cm = corpus.maps[st.tests[s][j]];
      Personalization p;
      p.times = fit.times[j];
      p.speed = fit.speed;
      p.residual = fit.residual[j];
      auto m = map_metrics(p, cm.truth, subject.speed, geometry.observed);
      st.rows.push_back(row_of("multi_pinn", s, cm.id, 0, m, fit.seconds));
      if (st.example_maps.count(st.tests[s][j]))
        st.examples[{"multi_pinn", st.tests[s][j]}] = {p.times, p.speed, p.residual};
    }
    bar.advance();
  }
  st.method_seconds["multi_pinn"] = watch.seconds();
}

}  // namespace metaeik::metapinn::detail
