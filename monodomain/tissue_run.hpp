#pragma once
// Tissue runs from JSON configs (configs/tissue/*.json) and their output directory:
//   summary.json   run parameters, wall time, probe activation times
//   probes.csv     name,x,y,z,node,activation_time,apd90
//   maps.vti       activation_time and apd90 (ms; −1 = never) on the grid
//   frames/*.vti + states.pvd   saved states every output.vti_interval ms (ParaView)
//   states.bin + states.json    float32 [frame][variable][node] for learning (monodomain/FORMAT.md)
// The directory is built under a temporary name and renamed when complete.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "monodomain/tissue.hpp"
#include "monodomain/tissue_regions.hpp"

namespace metaeik::monodomain {

struct TissueOutputOptions {
  std::vector<std::string> states{"V"};  ///< state variables saved in frames/binary
  double vti_interval = 0;               ///< ms between .vti frames (0 = no frames)
  double binary_interval = 0;            ///< ms between binary frames (0 = no binary)
  bool maps = true;                      ///< write maps.vti
  double noise = 0;  ///< > 0: also write states_noisy.bin with Gaussian noise of σ = noise × range
  std::uint64_t noise_seed = 1;                                       ///< seed of that noise
  std::vector<std::pair<std::string, std::array<double, 3>>> probes;  ///< named points (mm)
};

struct TissueConfig {
  std::string model = "ttp06";
  std::string variant;
  core::Json parameters = core::Json::object();  ///< cell parameter overrides
  std::vector<CellRegion> regions;  ///< cell.regions: boxes (mm) with their own parameter overrides
  TissueOptions tissue;
  TissueOutputOptions output;
  int threads = 0;  ///< OpenMP threads (0 = default)
  core::Json json;  ///< the config as read (echoed into summary.json)
};

/// Reads and validates a tissue config; errors name `source` and the key.
/// Grid: {"size": [Lx, Ly(, Lz)] mm, "dx": h} or {"nodes": [nx, ny(, nz)], "dx": h} (dy, dz default dx).
TissueConfig read_tissue_config(const core::Json& json, const std::string& source);

/// Re-checks a config after command-line overrides (stability of dt etc.); errors name `source`.
void validate_tissue_config(const TissueConfig& cfg, const std::string& source);

/// Activation time of each probe, in probe order.
struct ProbeResult {
  std::string name;
  std::array<double, 3> point;
  std::size_t node;
  double activation_time;
  double apd90;
};

struct TissueRunSummary {
  TissueResult result;
  std::vector<ProbeResult> probes;
};

/// Runs the config and writes the output directory (atomically; an existing one is replaced only
/// if `overwrite`).
TissueRunSummary run_tissue(const TissueConfig& cfg, const std::filesystem::path& out_dir, bool overwrite);

}  // namespace metaeik::monodomain
