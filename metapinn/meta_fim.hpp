#pragma once
// Meta-FIM (issue 13 item 3): the meta-PINN's velocity encoder and velocity hypernetwork give the
// conduction velocity F(x) on every node from k context maps of a subject; a query's activation times
// are the FIM solve T = FIM(F, source) (metapinn/fim_bridge.hpp), not a PINN. The source is estimated
// from the query's early observations (the physics_adjoint source search, eikonal::estimate_source, on
// the observed nodes in the earliest early_fraction of their time range), and its onset is the one that
// fits those early observations best for this F (least squares, closed form: t0 = mean over the early
// nodes of y − τ, τ = FIM(F, source at 0)). Training is episodic as for the meta-PINN (k contexts →
// F; the episode's queries), the loss the data term of T on the supervised nodes (train.supervision, as
// the meta-PINN's) plus an optional prior on F, with gradients through the solve by its adjoint.
// Personalisation: one context pass (encoder, hypernetwork, F on the nodes), the source search (a few
// FIM solves at uniform speed, independent of F) and one FIM solve.
//
// A run directory holds config.json (MetaFimConfig), last.pt, best.pt (best validation AT correlation)
// and log.csv, as a meta-PINN run does.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "eikonal/fim.hpp"
#include "eikonal/speed_fit_adjoint.hpp"
#include "metapinn/personalize.hpp"
#include "metapinn/trainer.hpp"

namespace metaeik::metapinn {

/// The config's "fim" object.
struct MetaFimOptions {
  /// Prior on F: "none", or "laplacian" = mean over the mesh edges (i, j) of (v'_i − v'_j)² (scaled
  /// speeds v' = v / speed_scale), weighted by prior_weight.
  std::string prior = "none";
  double prior_weight = 0.0;
  int source_candidates = 5;    ///< source search (eikonal::AdjointFitOptions::source_candidates)
  int source_search_steps = 4;  ///< its neighbour moves
  double tolerance = 1e-6;      ///< FIM convergence tolerance, ms
};

/// A meta-FIM training config: the meta-PINN's "model", "data" and "train" objects (read by
/// read_train_config; of "model" only the encoder, hypernetwork and velocity-net fields matter, of
/// "train" alpha, alpha_ramp_epochs and residual_points are unused) plus "fim".
struct MetaFimConfig {
  ModelOptions model;
  DataOptions data;
  TrainOptions train;
  MetaFimOptions fim;
};

/// True when `json` is an object with a "fim" key (a meta-FIM config, or a meta-FIM run's config.json).
bool is_meta_fim_config(const core::Json& json);
/// Unknown keys, bad types and ranges → core::Error naming `source` and the key.
MetaFimConfig read_meta_fim_config(const core::Json& json, const std::string& source);
MetaFimConfig load_meta_fim_config(const std::filesystem::path& path);
core::Json to_json(const MetaFimConfig& config);

/// Velocity encoder (context maps → c) and velocity hypernetwork (c → weights of F(x)), as in MetaPinn
/// (same module names, layouts and initialisation).
class MetaFimImpl : public torch::nn::Cloneable<MetaFimImpl> {
 public:
  MetaFimImpl(ModelOptions options, double speed_scale);
  void reset() override;
  /// c: mean of the velocity encoder over the context maps [k, N, 2] → [C]; nodes [N, 3] x'
  torch::Tensor context_embedding(const torch::Tensor& context, const std::vector<GraphLevel>& levels,
                                  const torch::Tensor& nodes);
  torch::Tensor velocity_weights(const torch::Tensor& c);  ///< [P_F]
  /// The velocity-net's logits [M] at x [M, 3]; v' = speed_of_logits(logits) ∈ [v_min, v_max]/speed_scale.
  torch::Tensor speed_logits(const torch::Tensor& x, const torch::Tensor& weights) const;
  torch::Tensor speed_of_logits(const torch::Tensor& logits) const;
  /// One line naming the architecture (checkpoints of another one are refused).
  std::string signature() const;

  ModelOptions options;
  double speed_scale;
  Encoder velocity_encoder{nullptr};
  HyperNet velocity_hyper{nullptr};

 private:
  functional::Activation activation_ = functional::Activation::kRelu;
};
TORCH_MODULE(MetaFim);

/// One geometry ready for meta-FIM: the model's prepared geometry, a FIM solver on its mesh
/// (single-threaded solves), the mesh-edge neighbours (source search) and edges [E, 2] (prior).
struct FimGeometry {
  PreparedGeometry prepared;
  std::shared_ptr<eikonal::FimSolver> solver;
  std::vector<std::vector<int>> neighbours;
  torch::Tensor edges;
};
FimGeometry prepare_fim_geometry(const CorpusGeometry& geometry, const MetaFimConfig& config,
                                 torch::Device device);

/// The nodes a query's early observations cover: observed, finite and ≤ min + early_fraction·(max − min)
/// over the observed nodes (map_features' rule).
Eigen::VectorXi early_mask(const Eigen::VectorXd& observation, const Eigen::VectorXi& observed,
                           double early_fraction);

/// The query's source: eikonal::estimate_source on its early observations (with fewer than 2, on all
/// observed nodes).
eikonal::SourceEstimate query_source(const FimGeometry& geometry, const Eigen::VectorXd& observation,
                                     const Eigen::VectorXi& observed, const MetaFimConfig& config);

/// T = τ + t0 (ms, [N], speed's dtype) with τ = FIM(speed, source at 0) and t0 = the mean over the
/// nodes where `early` (bool or 0/1 [N]) of y − τ. Differentiable in `speed` [N] (mm/ms).
/// @param y [N] observed times (ms; only the early nodes are read)
torch::Tensor fim_query_times(const eikonal::FimSolver& solver, const torch::Tensor& speed, int source,
                              const torch::Tensor& y, const torch::Tensor& early);

/// Trains on `corpus` into `run_dir` (created; with resume, continues from last.pt). Subjects, episodes,
/// learning-rate schedule, validation and checkpoints as metapinn::train.
void train_meta_fim(MetaFimConfig config, const Corpus& corpus, const std::filesystem::path& run_dir,
                    bool resume, const std::string& device = "cpu");

struct LoadedMetaFim {
  MetaFimConfig config;
  MetaFim model{nullptr};
  torch::Device device{torch::kCPU};
  int epoch = 0;
};
/// Loads config.json and best.pt (or `which`.pt; last.pt when there is no best.pt).
LoadedMetaFim load_meta_fim(const std::filesystem::path& run_dir, const std::string& device = "cpu",
                            const std::string& which = "best");

/// The context pass: velocity encoder on the k maps, hypernetwork, F on every node (ContextPass::speed, v').
ContextPass meta_fim_context_pass(LoadedMetaFim& model, const FimGeometry& geometry,
                                  const std::vector<Eigen::VectorXd>& contexts,
                                  const Eigen::VectorXi& observed);
/// The query pass: source search on the query's early observations and one FIM solve with the context's
/// F. forward_seconds counts this pass; residual is NaN (T solves the discrete Eikonal equation).
/// `source` (optional) skips the search with a known estimate.
Personalization personalize_meta_fim(LoadedMetaFim& model, const FimGeometry& geometry,
                                     const ContextPass& context, const Eigen::VectorXd& query,
                                     const Eigen::VectorXi& observed,
                                     const eikonal::SourceEstimate* source = nullptr);

/// evaluate() for meta-FIM: the same plans (EvaluateOptions) and rows; forward_seconds of a row = the
/// context pass + the query pass.
std::vector<EvaluationRow> evaluate_meta_fim(LoadedMetaFim& model, const Corpus& corpus,
                                             const EvaluateOptions& options, bool progress = true,
                                             const std::vector<FimGeometry>* prepared = nullptr);

}  // namespace metaeik::metapinn
