#include "surrogates/aphyn/config.hpp"

#include <algorithm>

namespace metaeik::surrogates::aphyn {
namespace {

namespace fs = std::filesystem;

void read_source(core::JsonReader r, SourceOptions& s, const fs::path& base) {
  r.get("simulate", s.simulate);
  r.get("tissue_dir", s.tissue_dir);
  r.get("csv", s.csv);
  const int n = !s.simulate.empty() + !s.tissue_dir.empty() + !s.csv.empty();
  METAEIK_CHECK(n == 1, r.error_prefix("simulate")
                            << "give exactly one of simulate, tissue_dir, csv (got " << n << ")");
  for (auto* p : {&s.simulate, &s.tissue_dir, &s.csv})
    if (!p->empty() && fs::path(*p).is_relative()) *p = (base / *p).lexically_normal().string();
  r.get("noise", s.noise, 0.0, 1.0);
  r.get("variable", s.tissue.variable);
  r.get("lo", s.tissue.lo);
  r.get("hi", s.tissue.hi);
  r.get("stride", s.tissue.stride, 1, 1 << 20);
  r.get("sample_interval", s.tissue.sample_interval, 0.0, 1e6);
  r.get_choice("take", s.take, {"all", "train", "validation"});
  r.get("validation_every", s.validation_every, 2, 1 << 20);
  r.finish();
}

core::Json source_json(const SourceOptions& s) {
  core::Json j{{"noise", s.noise},
               {"variable", s.tissue.variable},
               {"lo", s.tissue.lo},
               {"hi", s.tissue.hi},
               {"stride", s.tissue.stride},
               {"sample_interval", s.tissue.sample_interval},
               {"take", s.take},
               {"validation_every", s.validation_every}};
  if (!s.simulate.empty()) j["simulate"] = s.simulate;
  if (!s.tissue_dir.empty()) j["tissue_dir"] = s.tissue_dir;
  if (!s.csv.empty()) j["csv"] = s.csv;
  return j;
}

}  // namespace

const std::vector<std::string>& learnable_tau_names() {
  static const std::vector<std::string> names{"tau_in", "tau_out", "tau_close"};
  return names;
}

void read_model_options(core::JsonReader& r, ModelOptions& m) {
  r.get("learn", m.learn);
  for (const auto& name : m.learn) {
    const auto& ok = learnable_tau_names();
    METAEIK_CHECK(std::find(ok.begin(), ok.end(), name) != ok.end(),
                  r.error_prefix("learn")
                      << "unknown time constant \"" << name << "\" (expected tau_in, tau_out or tau_close)");
  }
  r.get("tau_in", m.tau_in, 1e-6, 1e6);
  r.get("tau_out", m.tau_out, 1e-6, 1e6);
  r.get("tau_open", m.tau_open, 1e-6, 1e6);
  r.get("tau_close", m.tau_close, 1e-6, 1e6);
  r.get("v_gate", m.v_gate, 0.0, 1.0);
  r.get("fdl", m.fdl);
  r.get("fdl_filters", m.fdl_filters, 1, 4096);
  r.get("fdl_blocks", m.fdl_blocks, 0, 1000);
  r.get("fdl_init_gain", m.fdl_init_gain, 0.0, 10.0);
  r.get("dt", m.dt, 1e-6, 100.0);
  r.get("stim_duration", m.stim_duration, 0.0, 1e6);
  r.get("stim_amplitude", m.stim_amplitude, -1e6, 1e6);
  r.finish();
}

core::Json to_json(const ModelOptions& m) {
  return {{"learn", m.learn},
          {"tau_in", m.tau_in},
          {"tau_out", m.tau_out},
          {"tau_open", m.tau_open},
          {"tau_close", m.tau_close},
          {"v_gate", m.v_gate},
          {"fdl", m.fdl},
          {"fdl_filters", m.fdl_filters},
          {"fdl_blocks", m.fdl_blocks},
          {"fdl_init_gain", m.fdl_init_gain},
          {"dt", m.dt},
          {"stim_duration", m.stim_duration},
          {"stim_amplitude", m.stim_amplitude}};
}

AphynConfig read_aphyn_config(const core::Json& json, const std::string& source, const fs::path& base_dir) {
  METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
  AphynConfig cfg;
  cfg.base_dir = base_dir;
  core::JsonReader r(json, source);
  r.get("description", cfg.description);
  {
    auto m = r.child("model");
    read_model_options(m, cfg.model);
  }
  {
    auto t = r.child("train");
    TrainOptions& o = cfg.train;
    t.get("epochs", o.epochs, 0, 1 << 24);
    t.get_choice("optimizer", o.optimizer, {"adam", "lbfgs"});
    t.get("lbfgs_iterations", o.lbfgs_iterations, 1, 1 << 20);
    t.get("lr", o.lr, 0.0, 10.0);
    t.get("lr_tau", o.lr_tau, 0.0, 10.0);
    t.get("lr_decay", o.lr_decay, 0.0, 1.0);
    t.get("lambda0", o.lambda0, 0.0, 1e12);
    t.get("gamma", o.gamma, 0.0, 1e12);
    t.get("horizon_start", o.horizon_start, 0.0, 1e9);
    t.get("horizon_epochs", o.horizon_epochs, 0, 1 << 24);
    t.get("batch_size", o.batch_size, 0, 1 << 24);
    t.get("validate_every", o.validate_every, 0, 1 << 24);
    t.get("checkpoint_every", o.checkpoint_every, 1, 1 << 24);
    t.get("seed", o.seed);
    t.get("threads", o.threads, 1, 1024);
    t.get("baseline", o.baseline);
    t.get("max_plots", o.max_plots, 0, 1 << 20);
    t.finish();
  }
  {
    auto d = r.child("data");
    METAEIK_CHECK(d.has("train"), d.error_prefix("train") << "is required");
    METAEIK_CHECK(d.has("validation"), d.error_prefix("validation") << "is required");
    read_source(d.child("train"), cfg.data.train, base_dir);
    read_source(d.child("validation"), cfg.data.validation, base_dir);
    d.get("start_threshold", cfg.data.prepare.start_threshold, 1e-6, 1.0 - 1e-6);
    d.get("horizon", cfg.data.prepare.horizon, 1e-6, 1e9);
    core::Json rois = core::Json::array();
    d.get("rois", rois);
    METAEIK_CHECK(rois.is_array(), d.error_prefix("rois") << "expected an array");
    for (std::size_t k = 0; k < rois.size(); ++k) {
      METAEIK_CHECK(rois[k].is_object(), d.error_prefix("rois") << "entry " << k << " is not an object");
      core::JsonReader rr(rois[k], source, d.key_path("rois") + "[" + std::to_string(k) + "]");
      RoiOptions roi;
      rr.require("name", roi.name);
      rr.require("lo", roi.lo);
      rr.require("hi", roi.hi);
      rr.finish();
      cfg.data.rois.push_back(roi);
    }
    d.finish();
  }
  r.finish();
  return cfg;
}

AphynConfig load_aphyn_config(const fs::path& path) {
  return read_aphyn_config(core::load_json_file(path), path.string(), fs::absolute(path).parent_path());
}

core::Json to_json(const AphynConfig& c) {
  const TrainOptions& t = c.train;
  core::Json rois = core::Json::array();
  for (const auto& r : c.data.rois) rois.push_back({{"name", r.name}, {"lo", r.lo}, {"hi", r.hi}});
  return {{"description", c.description},
          {"model", to_json(c.model)},
          {"train",
           {{"epochs", t.epochs},
            {"optimizer", t.optimizer},
            {"lbfgs_iterations", t.lbfgs_iterations},
            {"lr", t.lr},
            {"lr_tau", t.lr_tau},
            {"lr_decay", t.lr_decay},
            {"lambda0", t.lambda0},
            {"gamma", t.gamma},
            {"horizon_start", t.horizon_start},
            {"horizon_epochs", t.horizon_epochs},
            {"batch_size", t.batch_size},
            {"validate_every", t.validate_every},
            {"checkpoint_every", t.checkpoint_every},
            {"seed", t.seed},
            {"threads", t.threads},
            {"baseline", t.baseline},
            {"max_plots", t.max_plots}}},
          {"data",
           {{"train", source_json(c.data.train)},
            {"validation", source_json(c.data.validation)},
            {"start_threshold", c.data.prepare.start_threshold},
            {"horizon", c.data.prepare.horizon},
            {"rois", rois}}}};
}

}  // namespace metaeik::surrogates::aphyn
