#pragma once
// Personalisation (one feed-forward pass) and metrics (docs/DESIGN.md, metapinn → Personalisation,
// Metrics).

#include <Eigen/Core>
#include <string>
#include <vector>

#include "metapinn/trainer.hpp"

namespace metaeik::metapinn {

struct Personalization {
  Eigen::VectorXd times;     ///< #N predicted activation times, ms
  Eigen::VectorXd speed;     ///< #N predicted conduction velocity, mm/ms
  Eigen::VectorXd residual;  ///< #N |∇T|·F − 1 (dimensionless)
  /// Wall time of the pass that yields T and F on all nodes (encoders, hypernetworks, networks);
  /// the residual is a metric, evaluated afterwards and not counted.
  double forward_seconds = 0.0;
};

/// What the k context maps of one subject give, whatever the query: the tissue embedding c and the
/// velocity F(x) on every node.
struct ContextPass {
  torch::Tensor c;       ///< [C]
  torch::Tensor speed;   ///< [N] v' on the nodes
  double seconds = 0.0;  ///< wall time of the pass
};

/// The context pass (velocity encoder on the k maps, velocity hypernetwork and F(x)).
ContextPass context_pass(LoadedModel& model, const PreparedGeometry& geometry,
                         const std::vector<Eigen::VectorXd>& contexts, const Eigen::VectorXi& observed);

/// The query pass: source encoder on the query's early observations, PINN hypernetwork and T(x)
/// (then, untimed, ∇T and the residual). forward_seconds counts this pass only.
Personalization personalize(LoadedModel& model, const PreparedGeometry& geometry, const ContextPass& context,
                            const Eigen::VectorXd& query, const Eigen::VectorXi& observed);

/// Personalises to one query: k context maps (observations, ms) and the query's observations
/// (of which only the earliest early_fraction are used) on the same prepared geometry; one
/// context pass and one query pass (forward_seconds counts both).
Personalization personalize(LoadedModel& model, const PreparedGeometry& geometry,
                            const std::vector<Eigen::VectorXd>& contexts, const Eigen::VectorXd& query,
                            const Eigen::VectorXi& observed);

/// Makes the encoders' per-edge weights for this geometry with one pass on a blank map (they depend
/// on the geometry and the model only; each layer keeps those of its last graph). Passes that follow
/// on the same geometry reuse them, so timed passes should run grouped by geometry.
void bind_geometry(LoadedModel& model, const PreparedGeometry& geometry, const Eigen::VectorXi& observed);

/// The corpus's subjects in geometry order (stable), for passes grouped by geometry.
std::vector<int> subjects_by_geometry(const Corpus& corpus);

struct MapMetrics {
  double at_rel_error = 0, at_corr = 0;            ///< RMSE/range of truth, Pearson (all nodes)
  double at_rel_error_endo = 0, at_corr_endo = 0;  ///< observed (endocardial) nodes
  double at_rel_error_rest = 0, at_corr_rest = 0;  ///< all other nodes
  double v_rel_error = 0, v_corr = 0;              ///< velocity (NaN when the truth is unknown)
  double residual = 0;                             ///< mean |(|∇T|·F − 1)| over nodes
  double seconds = 0;                              ///< forward pass
};

double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b);
/// RMSE / (max − min of truth).
double relative_error(const Eigen::VectorXd& pred, const Eigen::VectorXd& truth);

MapMetrics map_metrics(const Personalization& p, const Eigen::VectorXd& at_truth,
                       const Eigen::VectorXd& v_truth, const Eigen::VectorXi& observed);

/// Which maps serve as context and which as queries in evaluate().
struct EvaluateOptions {
  int k = 5;                   ///< context maps per subject
  std::string split = "test";  ///< split of the query maps (contexts "train"/"other")
  /// "train": k of the subject's training maps (seeded choice); "other": k training maps of
  /// another subject on the same geometry (the next one, cyclically: the shuffled-context control,
  /// whose tissue differs); "first": the subject's first k maps in manifest order, whatever their
  /// split, and every other map is a query (held-out tasks, whose maps training never saw).
  std::string contexts = "train";
  std::uint64_t seed = 0;  ///< choice of the context maps ("train", "other")
  int max_queries = 0;     ///< > 0 keeps the first max_queries queries of each subject
  int query_start = 0;     ///< "first": queries start at this map (0 = k), e.g. the largest k of an ablation
  std::vector<int> subjects;  ///< subjects to evaluate (empty = every subject)
};

/// One row per query map.
struct EvaluationRow {
  int subject = 0;
  int map = 0;
  int context_subject = 0;  ///< subject the context maps came from
  MapMetrics metrics;
};

/// Context subject and context / query map positions (in corpus.maps) of `subject` under
/// `options`; throws core::Error when the subject has too few maps.
struct EvaluationPlan {
  int context_subject = 0;
  std::vector<int> contexts, queries;
};
EvaluationPlan evaluation_plan(const Corpus& corpus, int subject, const EvaluateOptions& options);

/// Evaluation of `options.subjects` (all by default). `prepared` (optional) are the corpus
/// geometries already prepared with the model's settings. With the model's
/// data.query_input = "reference" the query pass gets the query's complete truth.
std::vector<EvaluationRow> evaluate(LoadedModel& model, const Corpus& corpus, const EvaluateOptions& options,
                                    bool progress = true,
                                    const std::vector<PreparedGeometry>* prepared = nullptr);

/// Mean over rows of one metric field.
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace metaeik::metapinn
