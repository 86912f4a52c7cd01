#pragma once
// Training and validation traces of an APHYN-EP config (torch-free): runs the tissue simulation a
// source names (once, cached under the run directory), reads a tissue output directory or a CSV,
// restricts to a region of interest, splits train/validation and prepares the traces.

#include <filesystem>
#include <vector>

#include "surrogates/aphyn/config.hpp"
#include "surrogates/aphyn/traces.hpp"

namespace metaeik::surrogates::aphyn {

/// Raw traces of a source. `simulate` runs the tissue config (with output.noise = source.noise) into
/// data_dir/<config stem>[_noise<σ>] unless that directory exists. `roi` (may be null) replaces the
/// source's lo/hi. Applies `take` (every validation_every-th trace is validation).
TraceSet load_source(const SourceOptions& source, const RoiOptions* roi,
                     const std::filesystem::path& data_dir);

/// load_source + prepare_traces; `what` names the source in messages ("train", "validation").
std::vector<Trace> load_traces(const SourceOptions& source, const PrepareOptions& prepare,
                               const RoiOptions* roi, const std::filesystem::path& data_dir,
                               const std::string& what);

}  // namespace metaeik::surrogates::aphyn
