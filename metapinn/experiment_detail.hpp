#pragma once
// Internals of run_experiment (metapinn/experiment.hpp), shared by its stages
// (experiment_methods.cpp) and its writers (experiment_report.cpp).

#include <Eigen/Core>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "eikonal/dataset.hpp"
#include "metapinn/experiment.hpp"
#include "metapinn/personalize.hpp"

namespace metaeik::metapinn::detail {

/// A prediction kept for the example .vtu files.
struct Example {
  Eigen::VectorXd times, speed, residual;
};

/// Context and query passes of a meta method at the main k (seconds).
struct PassTimes {
  std::vector<double> context, query;
};

struct ExperimentState {
  ExperimentState(const ExperimentConfig& config, std::filesystem::path out, std::filesystem::path data_dir,
                  const eikonal::Dataset& dataset, const Corpus& corpus)
      : config(config),
        out(std::move(out)),
        data_dir(std::move(data_dir)),
        dataset(dataset),
        corpus(corpus) {}
  const ExperimentConfig& config;
  std::filesystem::path out, data_dir;
  const eikonal::Dataset& dataset;
  const Corpus& corpus;
  std::vector<std::vector<int>> tests;  ///< per subject: query maps (positions in corpus.maps)
  std::vector<int> test_subjects;       ///< subjects with queries
  std::size_t test_count = 0;
  std::vector<int> all_ks;                                  ///< k_ablation ∪ {k}, sorted
  std::set<int> example_maps;                               ///< corpus maps written as examples
  std::map<std::pair<std::string, int>, Example> examples;  ///< (method, corpus map) → prediction
  std::vector<ExperimentRow> rows;
  std::map<std::string, double> method_seconds;  ///< wall time of each stage
  std::map<std::string, PassTimes> pass_times;
  std::map<std::string, std::vector<double>> geometry_seconds;  ///< meta methods: set-up per geometry
  double total_seconds = 0;

  bool wants(const std::string& method) const;
  /// Options of evaluate()/evaluation_plan() for the queries of this experiment at `k`.
  EvaluateOptions plan_options(int k, const std::string& contexts) const;
};

ExperimentRow row_of(const std::string& method, int subject, int map, int k, const MapMetrics& m,
                     double seconds);

/// BOBYQA + FIM on every query; `method` = "physics" (18 segments) or "physics_groups".
void run_physics(ExperimentState& state, const std::string& method);
/// L-BFGS + FIM adjoint on every query: per-node speeds, source from the early observations, onset.
void run_physics_adjoint(ExperimentState& state);
/// Trained meta models (one run per seed) at every k, plus the shuffled-context control.
void run_meta(ExperimentState& state, const std::string& method,
              const std::vector<std::pair<std::uint64_t, std::filesystem::path>>& runs,
              const std::string& checkpoint);
void run_multi_pinn(ExperimentState& state);
/// Trained meta-FIM models (one run per seed) at every k: context pass + source search + one FIM solve per
/// map.
void run_meta_fim(ExperimentState& state,
                  const std::vector<std::pair<std::uint64_t, std::filesystem::path>>& runs,
                  const std::string& checkpoint);

/// results.csv, summary.md, fig2.png, k_ablation.png, examples/.
void write_report(const ExperimentState& state);

/// What the state held before a stage ran (experiment_stages.cpp).
struct StageMark {
  std::size_t rows = 0;
  std::set<std::pair<std::string, int>> examples;
  std::set<std::string> method_seconds, pass_times, geometry_seconds;
};
StageMark mark_stage(const ExperimentState& state);
/// A stage's completion record (OUT_DIR/stages/NAME.json): the rows, examples and times it added
/// to `state` since `since`, stored exactly (NaN as null).
core::Json stage_record(const ExperimentState& state, const StageMark& since);
/// Adds a completion record's rows, examples and times to `state` (throws on a malformed record,
/// leaving `state` unchanged).
void load_stage_record(ExperimentState& state, const core::Json& record);

}  // namespace metaeik::metapinn::detail
