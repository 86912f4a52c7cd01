// Reading and writing FhnConfig (torch-free).

#include <string>

#include "core/error.hpp"
#include "surrogates/fhn/architecture.hpp"
#include "surrogates/fhn/train.hpp"

namespace metaeik::surrogates::fhn {

core::Json expand_config(const core::Json& json, const std::string& source,
                         const std::filesystem::path& base_dir) {
  METAEIK_CHECK(json.is_object(), source << ": top level: expected an object");
  if (!json.contains("config")) return json;
  METAEIK_CHECK(json.at("config").is_string(), source << ": key 'config': expected a string (a config file)");
  std::filesystem::path base = json.at("config").get<std::string>();
  if (base.is_relative()) base = base_dir / base;
  METAEIK_CHECK(std::filesystem::exists(base), source << ": key 'config': no such file " << base.string());
  core::Json merged = expand_config(core::load_json_file(base), base.string(), base.parent_path());
  core::Json patch = json;
  patch.erase("config");
  merged.merge_patch(patch);
  return merged;
}

void read_train(core::JsonReader& r, TrainOptions& t) {
  r.get("iterations", t.iterations, 0, 100000000);
  r.get("batch_size", t.batch_size, 0, 100000000);
  r.get("lr", t.lr, 1e-12, 10.0);
  r.get("plateau_factor", t.plateau_factor, 1e-6, 1.0);
  r.get("plateau_patience", t.plateau_patience, 0, 100000000);
  r.get("min_lr", t.min_lr, 0.0, 10.0);
  r.get("data_weight", t.data_weight, 0.0, 1e9);
  r.get("physics_weight", t.physics_weight, 0.0, 1e9);
  r.get("start_weight", t.start_weight, 0.0, 1e9);
  r.get("collocation", t.collocation, 1, 10000000);
  r.get("itnn_step", t.itnn_step, 1e-6, 1e3);
  r.get("seed", t.seed);
  r.get("threads", t.threads, 1, 1024);
  r.get("log_every", t.log_every, 1, 100000000);
  r.get("validate_every", t.validate_every, 0, 100000000);
  r.get("checkpoint_every", t.checkpoint_every, 0, 100000000);
  r.get("bench_samples", t.bench_samples, 0, 100000000);
  r.finish();
}

FhnConfig read_fhn_config(const core::Json& json0, const std::string& source,
                          const std::filesystem::path& base_dir) {
  const core::Json json = expand_config(json0, source, base_dir);
  core::JsonReader r(json, source);
  FhnConfig c;
  {
    auto p = r.child("problem");
    read_problem(p, c.problem);
    p.finish();
  }
  {
    auto d = r.child("data");
    read_data(d, c.data);
  }
  {
    auto t = r.child("train");
    read_train(t, c.train);
  }
  r.get_choice("kind", c.kind, {"ddnn", "pinn", "itnn"});
  r.get("architecture", c.architecture);
  try {
    c.architecture = Architecture::parse(c.architecture).to_string();
  } catch (const core::Error& e) {
    METAEIK_FAIL(r.error_prefix("architecture") << e.what());
  }
  r.finish();
  try {
    make_model(c.problem);
  } catch (const core::Error& e) {
    std::string m = e.what();
    const std::string from = "parameters: key 'cell.parameters.";
    if (m.rfind(from, 0) == 0)
      m = source + ": key 'problem.parameters." + m.substr(from.size());
    else
      m = r.error_prefix("problem") + m;
    METAEIK_FAIL(m);
  }
  c.problem = resolve(c.problem);
  return c;
}

FhnConfig load_fhn_config(const std::filesystem::path& path) {
  return read_fhn_config(core::load_json_file(path), path.string(), path.parent_path());
}

core::Json to_json(const FhnConfig& c) {
  const TrainOptions& t = c.train;
  return {{"problem", to_json(c.problem)},
          {"data", to_json(c.data)},
          {"train",
           {{"iterations", t.iterations},
            {"batch_size", t.batch_size},
            {"lr", t.lr},
            {"plateau_factor", t.plateau_factor},
            {"plateau_patience", t.plateau_patience},
            {"min_lr", t.min_lr},
            {"data_weight", t.data_weight},
            {"physics_weight", t.physics_weight},
            {"start_weight", t.start_weight},
            {"collocation", t.collocation},
            {"itnn_step", t.itnn_step},
            {"seed", t.seed},
            {"threads", t.threads},
            {"log_every", t.log_every},
            {"validate_every", t.validate_every},
            {"checkpoint_every", t.checkpoint_every},
            {"bench_samples", t.bench_samples}}},
          {"kind", c.kind},
          {"architecture", c.architecture}};
}

}  // namespace metaeik::surrogates::fhn
