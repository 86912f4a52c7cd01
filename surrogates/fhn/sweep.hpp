#pragma once
// Sweeps: train every architecture of a zoo for one or more (problem, kind) studies, one CSV row
// per model, resumable, split into shards that `merge_sweeps` joins (torch-free interface).

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "surrogates/fhn/architecture.hpp"
#include "surrogates/fhn/train.hpp"

namespace metaeik::surrogates::fhn {

struct SweepConfig {
  ZooOptions zoo;                  ///< the zoo the architectures come from
  std::string zoo_file;            ///< a zoo CSV instead of the generated zoo ("" = generate)
  int per_group = 0;               ///< > 0: the seeded subset of the first per_group of every group
  std::vector<std::string> extra;  ///< further architectures appended to the list
  std::vector<FhnConfig> studies;  ///< one per (problem, kind); each trains every architecture
};

/// Reads a sweep config: {"zoo": {seed, per_group, max_neurons, widths, file}, "extra": [...],
/// "studies": [FhnConfig objects, each may name a base "config"]}. Unknown keys are errors.
SweepConfig read_sweep_config(const core::Json& json, const std::string& source,
                              const std::filesystem::path& base_dir);
SweepConfig load_sweep_config(const std::filesystem::path& path);
core::Json to_json(const SweepConfig& c);

/// The architectures of the sweep, in order.
std::vector<ZooEntry> sweep_architectures(const SweepConfig& c);

struct SweepJob {
  int index = 0;  ///< position in the full job list (study-major)
  int study = 0;
  ZooEntry entry;
};
std::vector<SweepJob> sweep_jobs(const SweepConfig& c);

struct Shard {
  int index = 1, count = 1;  ///< shard I of N, 1-based
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};
/// Parses "I/N" (1 <= I <= N); errors name the flag --shard.
Shard parse_shard(const std::string& text);
/// The jobs of shard I/N: those whose index % N == I − 1 (an exact partition over I).
std::vector<SweepJob> shard_jobs(const std::vector<SweepJob>& jobs, const Shard& shard);

struct ResultRow {
  std::string architecture, shape;
  int layers = 0, neurons = 0;
  long parameters = 0;
  std::string kind, problem;
  double val_mae = 0, val_max_error = 0, train_seconds = 0, inference_seconds = 0;
  std::string key() const { return architecture + " " + kind + " " + problem; }
};

/// The results.csv header.
const std::string& results_header();
/// Reads results.csv; a trailing line without newline (a killed write) is dropped with a warning.
std::vector<ResultRow> read_results_csv(const std::filesystem::path& path);
void write_results_csv(const std::filesystem::path& path, const std::vector<ResultRow>& rows);

struct SweepOptions {
  std::filesystem::path out;  ///< output directory (created; an existing sweep there is resumed)
  Shard shard;
  int max_models = 0;  ///< stop after training this many models (0 = all)
  bool progress = true;
};

/// Runs (or resumes) a sweep into options.out: sweep.json, results.csv (appended one row per
/// model, flushed), itnn.csv (rollout statistics of ITNN rows), euler.csv (the Euler line of each
/// problem) and, once complete, summary.md. Returns the rows of this shard in results.csv.
std::vector<ResultRow> run_sweep(const SweepConfig& config, const SweepOptions& options);

/// Joins the result directories of the shards 1..N of one sweep into `out` (results.csv,
/// itnn.csv, euler.csv, sweep.json, summary.md). Refuses a different config, a missing or repeated
/// shard, overlapping rows and gaps.
std::vector<ResultRow> merge_sweeps(const std::vector<std::filesystem::path>& dirs,
                                    const std::filesystem::path& out);

/// Writes dir/summary.md from dir/results.csv, dir/itnn.csv and dir/euler.csv.
void write_sweep_summary(const std::filesystem::path& dir);

}  // namespace metaeik::surrogates::fhn
