#include "metapinn/experiment.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/timer.hpp"
#include "eikonal/dataset.hpp"
#include "eikonal/dataset_generate.hpp"
#include "metapinn/experiment_detail.hpp"
#include "metapinn/meta_fim.hpp"
#include "metapinn/personalize.hpp"

namespace fs = std::filesystem;

namespace metaeik::metapinn {

namespace {

TrainConfig train_config_of(const MetaModelSpec& spec, const std::string& name) {
  METAEIK_CHECK(spec.train.is_string() || spec.train.is_object(),
                name << ": needs 'model'/'models' (trained runs) or 'train' (a training config)");
  TrainConfig c = spec.train.is_string() ? load_train_config(spec.train.get<std::string>())
                                         : read_train_config(spec.train, "experiment " + name + ".train");
  if (spec.epochs > 0) c.train.epochs = spec.epochs;
  return c;
}

MetaFimConfig fim_config_of(const MetaModelSpec& spec) {
  METAEIK_CHECK(spec.train.is_string() || spec.train.is_object(),
                "meta_fim: needs 'model'/'models' (trained runs) or 'train' (a meta-FIM training config)");
  MetaFimConfig c = spec.train.is_string() ? load_meta_fim_config(spec.train.get<std::string>())
                                           : read_meta_fim_config(spec.train, "experiment meta_fim.train");
  if (spec.epochs > 0) c.train.epochs = spec.epochs;
  return c;
}

// -------------------------------------------------------------------------------------- runner --

/// Generates the configured dataset into `data_dir` (atomically: the directory appears complete or not at
/// all).
void generate_experiment_dataset(const ExperimentConfig& config, const fs::path& data_dir) {
  eikonal::DatasetConfig dc;
  if (config.dataset_generate.is_null())
    dc = eikonal::default_dataset_config();
  else if (config.dataset_generate.is_string())
    dc = eikonal::load_dataset_config(config.dataset_generate.get<std::string>());
  else {
    core::JsonReader gr(config.dataset_generate, "experiment dataset.generate");
    dc = eikonal::read_dataset_config(gr);
  }
  spdlog::info("experiment: generating the dataset into {}", data_dir.string());
  eikonal::generate_dataset(dc, data_dir, false);
}

/// One training of a meta model.
struct TrainingJob {
  std::string name;
  std::uint64_t seed;
  TrainConfig config;
  std::optional<MetaFimConfig> fim;  ///< set for a meta-FIM training (then `config` is unused)
  fs::path run_dir;
  std::string stage;    ///< name of its completion record
  bool resume = false;  ///< continue the run in run_dir from its last.pt
};

/// Trains the jobs, `parallel` at a time (each with its own config's torch threads); `done(job,
/// seconds)` is called as each one finishes.
void run_trainings(const std::vector<TrainingJob>& jobs, const Corpus& corpus, const std::string& device,
                   int parallel, const std::function<void(const TrainingJob&, double)>& done) {
  std::atomic<std::size_t> next{0};
  std::vector<std::string> errors(jobs.size());
  auto worker = [&] {
    for (std::size_t j; (j = next++) < jobs.size();) {
      try {
        core::Stopwatch tw;
        const auto& job = jobs[j];
        spdlog::info("experiment: {} {} seed {} ({} epochs) in {}", job.resume ? "continuing" : "training",
                     method_label(job.name), job.seed,
                     job.fim ? job.fim->train.epochs : job.config.train.epochs, job.run_dir.string());
        if (job.fim)
          train_meta_fim(*job.fim, corpus, job.run_dir, job.resume, device);
        else
          train(job.config, corpus, job.run_dir, job.resume, device);
        spdlog::info("experiment: {} seed {} trained in {:.0f} s", method_label(jobs[j].name), jobs[j].seed,
                     tw.seconds());
        done(jobs[j], tw.seconds());
      } catch (const std::exception& e) {
        errors[j] = e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min<int>(parallel, int(jobs.size())); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  for (std::size_t j = 0; j < jobs.size(); ++j)
    METAEIK_CHECK(errors[j].empty(),
                  "training " << method_label(jobs[j].name) << " seed " << jobs[j].seed << ": " << errors[j]);
}

/// Is `name` a leftover temporary of an atomic write ("X.tmp.PID.N", core::temporary_sibling)?
bool is_temporary(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return false;
  const auto tmp = name.rfind(".tmp.", dot);
  if (tmp == std::string::npos || tmp + 5 >= dot) return false;
  const auto digits = [&](std::size_t a, std::size_t b) {
    return std::all_of(name.begin() + long(a), name.begin() + long(b),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(tmp + 5, dot) && digits(dot + 1, name.size());
}

/// Removes the temporaries a killed run left in `out` (a half-generated dataset, half-written files).
void remove_temporaries(const fs::path& out) {
  std::vector<fs::path> leftovers;
  for (auto it = fs::recursive_directory_iterator(out); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (is_temporary(name)) {
      leftovers.push_back(it->path());
      it.disable_recursion_pending();
    } else if (it.depth() == 0 && name == "dataset") {
      it.disable_recursion_pending();  // written atomically as a whole
    }
  }
  for (const auto& p : leftovers) fs::remove_all(p);
}

/// Where two configs first differ ("/k", "/meta_pinn/train/train/epochs"), for the --resume error.
std::string first_difference(const core::Json& stored, const core::Json& now) {
  const auto patch = core::Json::diff(stored, now);
  if (patch.empty()) return "";
  const std::string path = patch[0].value("path", "");
  return path.empty() ? "/" : path;
}

}  // namespace

std::vector<ExperimentRow> run_experiment(const ExperimentConfig& config, const fs::path& out, bool force,
                                          bool resume) {
  METAEIK_CHECK(!(force && resume), "--force and --resume exclude each other");
  auto wants = [&](const std::string& m) {
    return std::find(config.methods.begin(), config.methods.end(), m) != config.methods.end();
  };
  // Training configs are read now: a bad one fails before any work, and later edits of the
  // file do not change a running experiment. experiment.json stores them resolved.
  ExperimentConfig resolved = config;
  std::vector<TrainingJob> jobs;
  std::map<std::string, std::vector<std::pair<std::uint64_t, fs::path>>> runs;  // method → (seed, run dir)
  for (const std::string name : {"meta_neural", "meta_pinn"}) {
    const auto& spec = name == "meta_pinn" ? config.meta_pinn : config.meta_neural;
    if (!wants(name)) continue;
    if (!spec.models.empty()) {
      for (std::size_t i = 0; i < config.seeds.size(); ++i)
        runs[name].push_back({config.seeds[i], spec.models[i]});
      continue;
    }
    TrainConfig tc = train_config_of(spec, name);
    if (config.threads > 0) tc.train.threads = config.threads;
    tc.train.holdout = config.holdout;
    tc.train.holdout_geometry = config.holdout_geometry;
    if (name == "meta_neural") {  // same schedule, no PDE loss: the velocity-net receives no gradient
      tc.train.alpha = 0.0;
      tc.train.alpha_ramp_epochs = 0;
      tc.train.residual_points = 0;
    }
    auto& rspec = name == "meta_pinn" ? resolved.meta_pinn : resolved.meta_neural;
    rspec.train = metapinn::to_json(tc);
    rspec.epochs = 0;
    for (auto seed : config.seeds) {
      TrainConfig seeded = tc;
      seeded.train.seed = seed;
      const std::string run = "seed_" + std::to_string(seed);
      const fs::path dir = out / "models" / name / run;
      jobs.push_back({name, seed, seeded, std::nullopt, dir, "train_" + name + "_" + run});
      runs[name].push_back({seed, dir});
    }
  }
  if (wants("meta_fim")) {
    if (!config.meta_fim.models.empty()) {
      for (std::size_t i = 0; i < config.seeds.size(); ++i)
        runs["meta_fim"].push_back({config.seeds[i], config.meta_fim.models[i]});
    } else {
      MetaFimConfig fc = fim_config_of(config.meta_fim);
      if (config.threads > 0) fc.train.threads = config.threads;
      fc.train.holdout = config.holdout;
      fc.train.holdout_geometry = config.holdout_geometry;
      resolved.meta_fim.train = metapinn::to_json(fc);
      resolved.meta_fim.epochs = 0;
      for (auto seed : config.seeds) {
        MetaFimConfig seeded = fc;
        seeded.train.seed = seed;
        const std::string run = "seed_" + std::to_string(seed);
        const fs::path dir = out / "models" / "meta_fim" / run;
        TrainingJob job{"meta_fim", seed, {}, seeded, dir, "train_meta_fim_" + run};
        jobs.push_back(job);
        runs["meta_fim"].push_back({seed, dir});
      }
    }
  }
  // As written to and read back from experiment.json (numbers compare by value after a round trip).
  const core::Json resolved_json = core::Json::parse(to_json(resolved).dump());
  const fs::path stages = out / "stages";
  if (resume) {
    METAEIK_CHECK(fs::is_directory(out),
                  "--resume: '" << out.string() << "' does not exist (nothing to resume)");
    const fs::path stored_path = out / "experiment.json";
    METAEIK_CHECK(
        fs::is_regular_file(stored_path),
        "--resume: '" << out.string() << "' holds no experiment.json (not an experiment's output directory)");
    const core::Json stored = core::load_json_file(stored_path);
    METAEIK_CHECK(
        stored == resolved_json,
        "--resume: '" << stored_path.string() << "': the configuration differs from the stored one (first at "
                      << first_difference(stored, resolved_json)
                      << "); resume with the same config and options, or use --force to start over");
    remove_temporaries(out);
  } else {
    if (fs::exists(out)) {
      METAEIK_CHECK(force, "'" << out.string()
                               << "' already exists; use --force to replace it, or --resume to continue it");
      METAEIK_CHECK(fs::is_directory(out), "'" << out.string() << "' exists and is not a directory");
      METAEIK_CHECK(
          fs::is_empty(out) || fs::exists(out / "experiment.json"),
          "'" << out.string() << "' is not empty and holds no experiment.json; refusing to replace it");
      fs::remove_all(out);
    }
    fs::create_directories(out);
    core::save_json_file(out / "experiment.json", resolved_json);
  }
  fs::create_directories(stages);

  // Completion records: stages/NAME.json, written atomically once a stage has finished. Each holds
  // the cumulative run time at its writing, so a resumed run's total counts its predecessors'.
  core::Stopwatch total_watch;
  double earlier_seconds = 0;  // finished work of the runs this one resumes
  if (resume)
    for (const auto& e : fs::directory_iterator(stages)) {
      if (e.path().extension() != ".json") continue;
      try {
        earlier_seconds =
            std::max(earlier_seconds, core::load_json_file(e.path()).value("elapsed_seconds", 0.0));
      } catch (const std::exception&) {  // an unreadable record is redone below
      }
    }
  auto record_path = [&](const std::string& stage) { return stages / (stage + ".json"); };
  auto finished = [&](const std::string& stage) -> std::optional<core::Json> {
    const fs::path p = record_path(stage);
    if (!resume || !fs::is_regular_file(p)) return std::nullopt;
    try {
      auto j = core::load_json_file(p);
      if (j.value("complete", false) && j.value("stage", "") == stage) return j;
    } catch (const std::exception& e) {
      spdlog::warn("experiment: {}: unreadable completion record, redoing the stage ({})", p.string(),
                   e.what());
    }
    return std::nullopt;
  };
  auto record = [&](const std::string& stage, core::Json j) {
    j["stage"] = stage;
    j["complete"] = true;
    j["elapsed_seconds"] = earlier_seconds + total_watch.seconds();
    core::save_json_file(record_path(stage), j);
  };
  if (config.threads > 0) set_threads(config.threads);

  fs::path data_dir = config.dataset_dir;
  if (data_dir.empty()) {
    data_dir = out / "dataset";
    if (finished("dataset") && fs::is_directory(data_dir)) {
      spdlog::info("experiment: reusing the dataset {} ({})", data_dir.string(),
                   record_path("dataset").string());
    } else {
      if (resume) {  // everything after depends on the dataset: start over from here
        spdlog::info("experiment: the dataset stage did not finish; redoing it and everything after");
        fs::remove_all(data_dir);
        fs::remove_all(out / "models");
        for (const auto& e : fs::directory_iterator(stages)) fs::remove_all(e.path());
        earlier_seconds = 0;
      }
      core::Stopwatch w;
      generate_experiment_dataset(config, data_dir);
      record("dataset", {{"seconds", w.seconds()}});
    }
  }
  spdlog::info("experiment: loading the dataset {}", data_dir.string());
  const auto dataset = eikonal::Dataset::load(data_dir);
  const Corpus corpus = Corpus::from_dataset(dataset);

  detail::ExperimentState st(config, out, data_dir, dataset, corpus);
  st.all_ks = config.k_ablation;
  st.all_ks.push_back(config.k);
  std::sort(st.all_ks.begin(), st.all_ks.end());
  st.all_ks.erase(std::unique(st.all_ks.begin(), st.all_ks.end()), st.all_ks.end());
  // Query maps per subject: the test split, or the held-out tasks' maps after their contexts.
  const int S = int(corpus.subjects.size());
  st.tests.resize(S);
  std::vector<int> subjects;
  if (config.holdout == "none")
    for (int s = 0; s < S; ++s) subjects.push_back(s);
  else
    subjects = held_out_subjects(corpus, config.holdout, config.holdout_geometry);
  for (int s : subjects) {
    const auto plan = evaluation_plan(corpus, s, st.plan_options(st.all_ks.back(), "train"));
    st.tests[s] = plan.queries;
    if (plan.queries.empty()) continue;
    st.test_subjects.push_back(s);
    st.test_count += plan.queries.size();
  }
  METAEIK_CHECK(st.test_count > 0, data_dir.string() << ": the dataset holds no test maps");
  spdlog::info("experiment: {} subjects, {} query maps, methods: {}", st.test_subjects.size(), st.test_count,
               [&] {
                 std::string s;
                 for (const auto& m : config.methods) s += (s.empty() ? "" : ", ") + m;
                 return s;
               }());
  // Example maps: the first query map of evenly spread subjects.
  const int E = std::min<int>(config.examples, int(st.test_subjects.size()));
  for (int e = 0; e < E; ++e)
    st.example_maps.insert(st.tests[st.test_subjects[std::size_t(e) * st.test_subjects.size() / E]][0]);

  // A method stage: loaded from its completion record when `reusable` and finished, else run
  // (from scratch: a stage writes nothing but its record) and recorded.
  auto stage = [&](const std::string& name, bool reusable, const std::function<void()>& run) {
    if (reusable)
      if (auto rec = finished(name)) {
        try {
          detail::load_stage_record(st, *rec);
          spdlog::info("experiment: reusing {} ({})", method_label(name), record_path(name).string());
          return;
        } catch (const std::exception& e) {
          spdlog::warn("experiment: {}: malformed completion record, redoing the stage ({})",
                       record_path(name).string(), e.what());
        }
      }
    fs::remove(record_path(name));
    const auto mark = detail::mark_stage(st);
    run();
    record(name, detail::stage_record(st, mark));
  };
  for (const std::string m : {"physics", "physics_groups"})
    if (wants(m)) stage(m, true, [&] { detail::run_physics(st, m); });
  if (wants("physics_adjoint")) stage("physics_adjoint", true, [&] { detail::run_physics_adjoint(st); });

  // Trainings: a finished one is reused, an interrupted one continues from its last.pt (the
  // trainer's resume), a missing one starts; a meta stage whose models (re)trained is redone.
  std::vector<TrainingJob> todo;
  std::set<std::string> retrained;
  for (auto job : jobs) {
    const bool has_last = fs::is_regular_file(job.run_dir / "last.pt");
    if (finished(job.stage) && has_last) {
      spdlog::info("experiment: reusing {} seed {} ({})", method_label(job.name), job.seed,
                   job.run_dir.string());
      continue;
    }
    job.resume = resume && has_last;
    if (!job.resume) fs::remove_all(job.run_dir);  // no checkpoint yet: start over
    retrained.insert(job.name);
    todo.push_back(job);
  }
  run_trainings(todo, corpus, config.device, config.parallel_trainings,
                [&](const TrainingJob& job, double seconds) {
                  record(job.stage, {{"seconds", seconds}});
                });
  for (const std::string name : {"meta_neural", "meta_pinn"})
    if (wants(name))
      stage(name, !retrained.count(name), [&] {
        detail::run_meta(st, name, runs.at(name),
                         name == "meta_pinn" ? config.meta_pinn.checkpoint : config.meta_neural.checkpoint);
      });
  if (wants("meta_fim"))
    stage("meta_fim", !retrained.count("meta_fim"),
          [&] { detail::run_meta_fim(st, runs.at("meta_fim"), config.meta_fim.checkpoint); });
  if (wants("multi_pinn")) stage("multi_pinn", true, [&] { detail::run_multi_pinn(st); });

  st.total_seconds = earlier_seconds + total_watch.seconds();
  fs::remove_all(out / "examples");  // rewritten whole (a killed run may have left some)
  detail::write_report(st);
  spdlog::info("experiment: wrote {} (results.csv, summary.md, fig2.png, examples/) in {:.0f} s",
               out.string(), total_watch.seconds());
  return st.rows;
}

}  // namespace metaeik::metapinn
