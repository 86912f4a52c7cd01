#pragma once
// Episodic meta-training (docs/DESIGN.md, metapinn → Training), run configuration and checkpoints.
//
// A run directory holds config.json (the fully resolved TrainConfig), last.pt and best.pt
// (model parameters, optimiser state, epoch, architecture signature), log.csv (every loss term
// per epoch) and summary.json.

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "metapinn/data.hpp"
#include "metapinn/model.hpp"

namespace metaeik::metapinn {

struct TrainOptions {
  int epochs = 100;            ///< passes over all subjects (one episode per subject)
  int k = 5;                   ///< context maps per episode
  int queries = 5;             ///< query maps per episode (0 = all remaining training maps)
  double lr = 1e-3;            ///< AdamW peak learning rate
  double min_lr_ratio = 0.01;  ///< cosine annealing ends at lr·min_lr_ratio
  double weight_decay = 1e-5;  ///< AdamW weight decay
  int warmup_epochs = 5;       ///< linear warm-up from 0 to lr
  double grad_clip = 1.0;      ///< max global gradient norm (0 = off)
  double alpha = 1.0;          ///< final weight of the PDE loss
  int alpha_ramp_epochs = 50;  ///< α rises linearly from 0 to `alpha` over these epochs
  /// Weight of EpisodeOutput::logit_penalty (0 = off): keeps the velocity-net out of the flat
  /// ends of its sigmoid bound, where F stops learning.
  double velocity_logit_penalty = 0.0;
  int residual_points = 0;  ///< extra random residual points inside tets per episode
  /// Nodes whose times the data loss supervises in each query: "all" = a fresh random
  /// `supervision_fraction` of all nodes per query and episode (the training maps are complete
  /// simulations; the reference code does this, with 40 %), "observed" = the observed
  /// (endocardial) nodes only. The encoders' inputs stay sparse and endocardial either way.
  std::string supervision = "all";
  double supervision_fraction = 0.4;  ///< share of all nodes supervised per query ("all")
  /// Held-out tasks (subject = geometry × scar) that training never sees: "none", "diagonal"
  /// (scar configuration g on geometry g, for every g) or "geometry" (every subject of geometry
  /// `holdout_geometry`). See held_out_subjects().
  std::string holdout = "none";
  int holdout_geometry = 0;
  int val_every = 5;    ///< validate every n epochs (and after the last)
  int val_queries = 2;  ///< validation queries per subject (0 = every map of val_split)
  std::string val_split =
      "val";  ///< split the validation queries come from ("val", or "test" to reproduce old runs)
  std::uint64_t seed = 1;  ///< episode splits, initialisation, random residual points
  int threads = 2;         ///< torch intra-op threads (0 = LibTorch default)
};

struct TrainConfig {
  ModelOptions model;
  DataOptions data;
  TrainOptions train;
};

/// Reads a config object (absent keys keep defaults; unknown keys, bad types/ranges → core::Error
/// naming `source` and the key). Keys: "model", "data", "train" objects with the field names.
TrainConfig read_train_config(const core::Json& json, const std::string& source);
TrainConfig load_train_config(const std::filesystem::path& path);
core::Json to_json(const TrainConfig& config);

/// Trains on `corpus`, writing into `run_dir` (created; with resume, continues from last.pt).
/// `device` is "cpu" or "cuda".
void train(TrainConfig config, const Corpus& corpus, const std::filesystem::path& run_dir, bool resume,
           const std::string& device = "cpu");

/// A trained model loaded from a run directory.
struct LoadedModel {
  TrainConfig config;
  MetaPinn model{nullptr};
  torch::Device device{torch::kCPU};
  int epoch = 0;
};

/// Loads config.json and best.pt (or `which`.pt) of a run; refuses missing files and
/// checkpoints of another architecture with a one-line core::Error.
LoadedModel load_model(const std::filesystem::path& run_dir, const std::string& device = "cpu",
                       const std::string& which = "best");

torch::Device parse_device(const std::string& device);

}  // namespace metaeik::metapinn
