#include <algorithm>

#include "core/error.hpp"
#include "eikonal/dataset_generate.hpp"
#include "metapinn/experiment.hpp"

namespace fs = std::filesystem;

namespace metaeik::metapinn {

namespace {

const std::vector<std::string> kMethods{"physics",    "physics_groups", "physics_adjoint", "meta_neural",
                                        "multi_pinn", "meta_pinn",      "meta_fim"};

std::string resolve(const std::string& p, const fs::path& base) {
  if (p.empty() || fs::path(p).is_absolute() || base.empty()) return p;
  return (base / p).lexically_normal().string();
}

MetaModelSpec read_meta_spec(core::JsonReader r, MetaModelSpec spec, const fs::path& base) {
  if ((r.has("model") || r.has("models")) && r.has("train"))
    METAEIK_FAIL(r.error_prefix(r.has("model") ? "model" : "models")
                 << "give either 'model'/'models' (trained runs) or 'train', not both");
  if (r.has("model") && r.has("models"))
    METAEIK_FAIL(r.error_prefix("models") << "give either 'model' or 'models'");
  if (r.has("model")) {
    std::string model;
    r.get("model", model);
    spec.models = {model};
  }
  r.get("models", spec.models);
  if (!spec.models.empty()) spec.train = nullptr;
  core::Json train = spec.train;
  r.get("train", train);
  METAEIK_CHECK(train.is_null() || train.is_string() || train.is_object(),
                r.error_prefix("train")
                    << "expected a path (string) or an object, got " << core::json_type_name(train));
  spec.train =
      train.is_string() && r.has("train") ? core::Json(resolve(train.get<std::string>(), base)) : train;
  for (auto& m : spec.models) m = resolve(m, base);
  r.get("epochs", spec.epochs, 0, 10000000);
  r.get_choice("checkpoint", spec.checkpoint, {"best", "last"});
  r.finish();
  return spec;
}

core::Json meta_spec_json(const MetaModelSpec& s) {
  core::Json j = {{"epochs", s.epochs}, {"checkpoint", s.checkpoint}};
  if (!s.models.empty())
    j["models"] = s.models;
  else
    j["train"] = s.train;
  return j;
}
}  // namespace

std::string method_label(const std::string& m) {
  if (m == "physics") return "physics-based (18 segments)";
  if (m == "physics_groups") return "physics-based (AHA groups, oracle)";
  if (m == "physics_adjoint") return "physics-based adjoint (node speeds, L-BFGS)";
  if (m == "meta_pinn_other") return "meta-PINN, other subject's contexts";
  if (m == "meta_neural") return "meta-neural";
  if (m == "multi_pinn") return "multi-PINN";
  if (m == "meta_pinn") return "meta-PINN";
  if (m == "meta_fim") return "meta-FIM";
  return m;
}

// ------------------------------------------------------------------------------------- config --
ExperimentConfig read_experiment_config(const core::Json& json, const std::string& source,
                                        const fs::path& base) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
  ExperimentConfig c;
  core::JsonReader r(json, source);
  {
    auto d = r.child("dataset");
    if (d.has("dir") && d.has("generate"))
      METAEIK_FAIL(d.error_prefix("dir") << "give either 'dir' or 'generate', not both");
    d.get("dir", c.dataset_dir);
    c.dataset_dir = resolve(c.dataset_dir, base);
    if (d.has("generate")) {
      const core::Json& g = d.json().at("generate");
      METAEIK_CHECK(g.is_string() || g.is_object(), d.error_prefix("generate")
                                                        << "expected a path (string) or an object, got "
                                                        << core::json_type_name(g));
      core::Json gen = g;
      d.get("generate", gen);
      if (gen.is_string()) {
        gen = core::Json(resolve(gen.get<std::string>(), base));
      } else {  // validate now, so a typo fails before hours of work
        core::JsonReader gr(gen, source, d.key_path("generate"));
        eikonal::read_dataset_config(gr, base);
      }
      c.dataset_generate = gen;
    }
    d.finish();
  }
  c.meta_pinn = read_meta_spec(r.child("meta_pinn"), c.meta_pinn, base);
  c.meta_neural = read_meta_spec(r.child("meta_neural"), c.meta_neural, base);
  c.meta_fim = read_meta_spec(r.child("meta_fim"), c.meta_fim, base);
  {
    auto p = r.child("physics");
    p.get("lower", c.physics.lower, 1e-9, 1e9);
    p.get("upper", c.physics.upper, 1e-9, 1e9);
    p.get("start", c.physics.start, 1e-9, 1e9);
    p.get("max_evaluations", c.physics.max_evaluations, 1, 100000000);
    p.get("xtol_rel", c.physics.xtol_rel, 0.0, 1.0);
    p.get("threads", c.physics_threads, 0, 4096);
    p.finish();
    METAEIK_CHECK(c.physics.lower < c.physics.upper && c.physics.start >= c.physics.lower &&
                      c.physics.start <= c.physics.upper,
                  p.error_prefix("start")
                      << "need lower < upper and start within [lower, upper], got " << c.physics.lower << ", "
                      << c.physics.upper << ", " << c.physics.start);
  }
  {
    auto p = r.child("physics_adjoint");
    auto& o = c.physics_adjoint;
    p.get("v_min", o.v_min, 1e-9, 1e9);
    p.get("v_max", o.v_max, 1e-9, 1e9);
    p.get_choice("prior", o.prior, {"laplacian", "tv"});
    p.get("prior_weight", o.prior_weight, 0.0, 1e12);
    p.get("tv_epsilon", o.tv_epsilon, 1e-12, 1e9);
    p.get("source_candidates", o.source_candidates, 1, 100000);
    p.get("source_search_steps", o.source_search_steps, 0, 100000);
    p.get("max_evaluations", o.max_evaluations, 1, 100000000);
    p.get("ftol_rel", o.ftol_rel, 0.0, 1.0);
    p.finish();
    METAEIK_CHECK(o.v_min < o.v_max, p.error_prefix("v_max")
                                         << "must exceed v_min, got " << o.v_max << " <= " << o.v_min);
  }
  {
    auto m = r.child("multi_pinn");
    auto& o = c.multi_pinn;
    m.get("iterations", o.iterations, 1, 100000000);
    m.get("lr", o.lr, 1e-12, 10.0);
    m.get("min_lr_ratio", o.min_lr_ratio, 0.0, 1.0);
    m.get("alpha", o.alpha, 0.0, 1e9);
    m.get("alpha_ramp_iterations", o.alpha_ramp_iterations, 0, 100000000);
    m.get("pde_nodes", o.pde_nodes, 0, 100000000);
    m.get("residual_points", o.residual_points, 0, 100000000);
    m.get("pinn_width", o.pinn_width, 1, 4096);
    m.get("pinn_hidden_layers", o.pinn_hidden_layers, 1, 64);
    m.get("velocity_width", o.velocity_width, 1, 4096);
    m.get("velocity_layers", o.velocity_layers, 1, 64);
    m.get("v_min", o.v_min, 1e-9, 1e9);
    m.get("v_max", o.v_max, 1e-9, 1e9);
    m.get("speed_scale", o.speed_scale, 1e-9, 1e9);
    m.finish();
    METAEIK_CHECK(o.v_min < o.v_max, m.error_prefix("v_max")
                                         << "must exceed v_min, got " << o.v_max << " <= " << o.v_min);
  }
  r.get("k", c.k, 1, 1000);
  r.get("k_ablation", c.k_ablation);
  for (int k : c.k_ablation)
    METAEIK_CHECK(k >= 1, r.error_prefix("k_ablation") << "every k must be at least 1, got " << k);
  r.get("max_test_maps_per_subject", c.max_test_maps_per_subject, 0, 100000000);
  r.get("examples", c.examples, 0, 1000);
  r.get("seed", c.seed);
  r.get("methods", c.methods);
  METAEIK_CHECK(!c.methods.empty(), r.error_prefix("methods") << "must name at least one method");
  for (const auto& m : c.methods)
    METAEIK_CHECK(std::find(kMethods.begin(), kMethods.end(), m) != kMethods.end(),
                  r.error_prefix("methods")
                      << "unknown method '" << m
                      << "' (choose from physics, physics_groups, physics_adjoint, meta_neural, "
                         "multi_pinn, meta_pinn, meta_fim)");
  r.get("seeds", c.seeds);
  METAEIK_CHECK(!c.seeds.empty(), r.error_prefix("seeds") << "must name at least one training seed");
  r.get("parallel_trainings", c.parallel_trainings, 1, 64);
  r.get("context_control", c.context_control);
  r.get_choice("holdout", c.holdout, {"none", "diagonal", "geometry"});
  r.get("holdout_geometry", c.holdout_geometry, 0, 1000000);
  for (const auto* spec : {&c.meta_pinn, &c.meta_neural, &c.meta_fim})
    METAEIK_CHECK(spec->models.empty() || spec->models.size() == c.seeds.size(),
                  r.error_prefix(spec == &c.meta_pinn  ? "meta_pinn.models"
                                 : spec == &c.meta_fim ? "meta_fim.models"
                                                       : "meta_neural.models")
                      << "gives " << spec->models.size() << " runs for " << c.seeds.size() << " seeds");
  r.get_choice("device", c.device, {"cpu", "cuda"});
  r.get("threads", c.threads, 0, 4096);
  r.finish();
  return c;
}

ExperimentConfig load_experiment_config(const fs::path& path) {
  return read_experiment_config(core::load_json_file(path), path.string(), path.parent_path());
}

core::Json to_json(const ExperimentConfig& c) {
  core::Json j;
  j["dataset"] = core::Json::object();
  if (!c.dataset_dir.empty()) j["dataset"]["dir"] = c.dataset_dir;
  if (!c.dataset_generate.is_null()) j["dataset"]["generate"] = c.dataset_generate;
  j["meta_pinn"] = meta_spec_json(c.meta_pinn);
  j["meta_neural"] = meta_spec_json(c.meta_neural);
  j["meta_fim"] = meta_spec_json(c.meta_fim);
  j["physics"] = {{"lower", c.physics.lower},       {"upper", c.physics.upper},
                  {"start", c.physics.start},       {"max_evaluations", c.physics.max_evaluations},
                  {"xtol_rel", c.physics.xtol_rel}, {"threads", c.physics_threads}};
  const auto& pa = c.physics_adjoint;
  j["physics_adjoint"] = {{"v_min", pa.v_min},
                          {"v_max", pa.v_max},
                          {"prior", pa.prior},
                          {"prior_weight", pa.prior_weight},
                          {"tv_epsilon", pa.tv_epsilon},
                          {"source_candidates", pa.source_candidates},
                          {"source_search_steps", pa.source_search_steps},
                          {"max_evaluations", pa.max_evaluations},
                          {"ftol_rel", pa.ftol_rel}};
  const auto& o = c.multi_pinn;
  j["multi_pinn"] = {{"iterations", o.iterations},
                     {"lr", o.lr},
                     {"min_lr_ratio", o.min_lr_ratio},
                     {"alpha", o.alpha},
                     {"alpha_ramp_iterations", o.alpha_ramp_iterations},
                     {"pde_nodes", o.pde_nodes},
                     {"residual_points", o.residual_points},
                     {"pinn_width", o.pinn_width},
                     {"pinn_hidden_layers", o.pinn_hidden_layers},
                     {"velocity_width", o.velocity_width},
                     {"velocity_layers", o.velocity_layers},
                     {"v_min", o.v_min},
                     {"v_max", o.v_max},
                     {"speed_scale", o.speed_scale}};
  j["k"] = c.k;
  j["k_ablation"] = c.k_ablation;
  j["max_test_maps_per_subject"] = c.max_test_maps_per_subject;
  j["examples"] = c.examples;
  j["seed"] = c.seed;
  j["methods"] = c.methods;
  j["seeds"] = c.seeds;
  j["parallel_trainings"] = c.parallel_trainings;
  j["context_control"] = c.context_control;
  j["holdout"] = c.holdout;
  j["holdout_geometry"] = c.holdout_geometry;
  j["device"] = c.device;
  j["threads"] = c.threads;
  return j;
}

}  // namespace metaeik::metapinn
