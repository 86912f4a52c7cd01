#pragma once
// The paper-style comparison (docs/DESIGN.md, metapinn → Experiment, Baselines, Metrics; paper §4.1, Fig. 2):
// meta-PINN vs. the physics-based (BOBYQA + FIM; and per-node speeds by L-BFGS with the FIM adjoint),
// meta-neural (no PDE loss, AT only) and multi-PINN baselines on the test maps of one dataset, with the
// k-ablation and the endocardium-vs-rest stratification. `metaeikonal experiment --config EXP.json -o
// OUT_DIR`.
//
// OUT_DIR (each file written atomically; an existing OUT_DIR is refused unless `force`, or
// continued with `resume`):
//   results.csv         one row per method × test map (× k × training seed for the meta methods)
//   summary.md          mean ± std tables: comparison at k, k-ablation, endocardium vs rest
//   fig2.png            grouped bars of AT / velocity relative error and correlation per method
//   k_ablation.png      AT and velocity correlation of the meta methods against k
//   examples/<method>_s<subject>_map<id>.vtu + examples.pvd   truth, prediction, error, velocity
//   dataset/            the generated dataset (when the config generates one)
//   models/meta_pinn/seed_N, models/meta_neural/seed_N   training runs (when the config trains them)
//   experiment.json     the resolved configuration
//   stages/NAME.json    completion records of the finished stages (dataset, physics, ...,
//   train_meta_pinn_seed_N,
//                       meta_pinn, multi_pinn): their result rows, examples and times, for `resume`

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "eikonal/speed_fit.hpp"
#include "eikonal/speed_fit_adjoint.hpp"
#include "metapinn/multi_pinn.hpp"

namespace metaeik::metapinn {

/// Where a meta model comes from: trained run directories, or a training config to train one per seed.
struct MetaModelSpec {
  /// Run directories of trained models, one per training seed (empty = train one per seed).
  /// Config key "model" (one run) or "models" (a list).
  std::vector<std::string> models;
  core::Json train;  ///< training config: path (string, relative to the experiment config) or object
  int epochs = 0;    ///< > 0 overrides train.epochs
  std::string checkpoint = "best";  ///< "best" or "last"
};

struct ExperimentConfig {
  /// Dataset: an existing directory, or a generation config (path or object; default: the
  /// built-in paper dataset, 4 BiV × 5 scars × 20 maps) generated into OUT_DIR/dataset.
  std::string dataset_dir;
  core::Json dataset_generate;  ///< null = default_dataset_config()
  MetaModelSpec meta_pinn{{}, core::Json("configs/train/quick.json")};
  MetaModelSpec meta_neural{{}, core::Json("configs/train/quick.json")};  ///< trained with α = 0
  /// meta-FIM (metapinn/meta_fim.hpp): velocity encoder + hypernetwork → F, T = FIM(F, source); "train" is a
  /// meta-FIM config (with its "fim" section).
  MetaModelSpec meta_fim{{}, core::Json("configs/train/meta_fim_quick.json")};
  eikonal::SpeedFitOptions physics;  ///< BOBYQA bounds [0.01, 1] mm/ms, start 0.35, ≤ 500 FIM solves
  int physics_threads = 0;  ///< maps fitted in parallel (0 = OpenMP default); each fit single-threaded
  /// physics_adjoint: per-node speeds + source (chosen from the early observations) and onset, L-BFGS with
  /// the FIM adjoint (eikonal/speed_fit_adjoint.hpp); maps in parallel like physics (physics.threads).
  eikonal::AdjointFitOptions physics_adjoint;
  MultiPinnOptions multi_pinn;
  int k = 5;                             ///< context maps of the main comparison
  std::vector<int> k_ablation{1, 3, 5};  ///< k values of the ablation (meta methods)
  int max_test_maps_per_subject = 0;     ///< 0 = every test map
  int examples = 2;                      ///< example maps written as .vtu per method
  std::uint64_t seed = 0;                ///< choice of context maps, multi-PINN initialisation
  /// physics = BOBYQA over the 18 segment speeds (17 AHA + RV); physics_groups = over the reference
  /// code's 5 AHA groups, an oracle wherever the scars are those groups; physics_adjoint = per-node
  /// speeds by gradient (not in the default list; the shipped configs name it); meta_fim = the meta-learned
  /// velocity with the FIM solve for T (likewise).
  std::vector<std::string> methods{"physics", "meta_neural", "multi_pinn", "meta_pinn"};
  /// Training seeds of the meta models: one model per seed, every meta number is a mean ± std
  /// over seeds (besides the spread over maps).
  std::vector<std::uint64_t> seeds{1, 2, 3};
  int parallel_trainings = 2;  ///< meta-model trainings run side by side
  /// Shuffled-context control: meta-PINN again at k, with the context maps of another subject on
  /// the same geometry (method key meta_pinn_other).
  bool context_control = true;
  /// Unseen tasks (TrainOptions::holdout): "none" = test maps of every subject; "diagonal" /
  /// "geometry" = the meta models train without the held-out subjects, and every method is tested
  /// on them: their first max(k, k_ablation) maps are the context, the rest are the queries.
  std::string holdout = "none";
  int holdout_geometry = 0;
  std::string device = "cpu";  ///< torch device of the meta methods
  int threads = 2;             ///< torch intra-op threads
};

/// Reads an experiment config (unknown keys, bad types and ranges → core::Error naming `source`
/// and the key). Relative paths are resolved against `base_dir` (the config file's directory).
ExperimentConfig read_experiment_config(const core::Json& json, const std::string& source,
                                        const std::filesystem::path& base_dir = {});
ExperimentConfig load_experiment_config(const std::filesystem::path& path);
core::Json to_json(const ExperimentConfig& config);

/// One method on one test map.
struct ExperimentRow {
  std::string method;
  int subject = 0, map = 0, k = 0;  ///< map = dataset map index; k = 0 for non-meta methods
  std::uint64_t seed = 0;           ///< training seed of a meta model (0 for the other methods)
  double at_rel_error = 0, at_corr = 0, v_rel_error = 0, v_corr = 0, residual = 0, seconds = 0;
  double at_rel_error_endo = 0, at_corr_endo = 0, at_rel_error_rest = 0, at_corr_rest = 0;
};

/// Runs everything and writes OUT_DIR. Returns the rows of results.csv. An existing OUT_DIR is
/// replaced with `force`, or continued with `resume` (which needs OUT_DIR/experiment.json equal to
/// this config): stages with a completion record in OUT_DIR/stages are loaded, not recomputed;
/// interrupted trainings continue from their last.pt; the rest is redone. The result rows equal
/// those of an uninterrupted run (except the times).
std::vector<ExperimentRow> run_experiment(const ExperimentConfig& config,
                                          const std::filesystem::path& out_dir, bool force,
                                          bool resume = false);

/// Display name of a method key ("meta_pinn" → "meta-PINN", ...).
std::string method_label(const std::string& method);

}  // namespace metaeik::metapinn
