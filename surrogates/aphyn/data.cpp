#include "surrogates/aphyn/data.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/error.hpp"
#include "monodomain/tissue_run.hpp"

namespace metaeik::surrogates::aphyn {
namespace {
namespace fs = std::filesystem;

fs::path simulate(const SourceOptions& s, const fs::path& data_dir) {
  const fs::path cfg_path = s.simulate;
  char suffix[32] = "";
  if (s.noise > 0) std::snprintf(suffix, sizeof suffix, "_noise%g", s.noise);
  const fs::path out = data_dir / (cfg_path.stem().string() + suffix);
  if (fs::exists(out / "states.json")) {
    spdlog::info("aphyn: using the tissue run {}", out.string());
    return out;
  }
  auto cfg = monodomain::read_tissue_config(core::load_json_file(cfg_path), cfg_path.string());
  METAEIK_CHECK(cfg.output.binary_interval > 0,
                cfg_path.string()
                    << ": key 'output.binary_interval': must be > 0 (the traces are read from states.bin)");
  cfg.output.noise = s.noise;
  cfg.output.vti_interval = 0;  // only states.bin is needed
  monodomain::validate_tissue_config(cfg, cfg_path.string());
  fs::create_directories(data_dir);
  spdlog::info("aphyn: simulating {} → {}", cfg_path.string(), out.string());
  monodomain::run_tissue(cfg, out, false);
  return out;
}

}  // namespace

TraceSet load_source(const SourceOptions& s, const RoiOptions* roi, const fs::path& data_dir) {
  TraceSet set;
  if (!s.csv.empty()) {
    set = read_trace_csv(s.csv);
  } else {
    TissueTraceOptions t = s.tissue;
    if (roi) {
      t.lo = roi->lo;
      t.hi = roi->hi;
    }
    t.noisy = s.noise > 0;
    set = read_tissue_traces(s.simulate.empty() ? fs::path(s.tissue_dir) : simulate(s, data_dir), t);
  }
  if (s.take == "all") return set;
  TraceSet part;
  part.time = set.time;
  for (std::size_t k = 0; k < set.values.size(); ++k) {
    const bool validation = static_cast<int>(k % s.validation_every) == s.validation_every - 1;
    if (validation == (s.take == "validation")) {
      part.values.push_back(set.values[k]);
      part.names.push_back(set.names[k]);
    }
  }
  return part;
}

std::vector<Trace> load_traces(const SourceOptions& source, const PrepareOptions& prepare,
                               const RoiOptions* roi, const fs::path& data_dir, const std::string& what) {
  const auto set = load_source(source, roi, data_dir);
  const auto traces =
      prepare_traces(set, prepare, (roi ? "ROI " + roi->name + " " : std::string()) + what + " traces");
  spdlog::info("aphyn: {} {} traces{}", traces.size(), what, roi ? " of ROI " + roi->name : std::string());
  return traces;
}

}  // namespace metaeik::surrogates::aphyn
