#pragma once
// The tissue states of a monodomain run (states.bin + states.json, monodomain/FORMAT.md) as a
// learning dataset: frames flattened to [variable][node], an 80/20 split in time, z-scoring with
// statistics of the training part only, and training windows that never reach the test part.
//
//   auto data = lstm::load_states(dir, {"V", "Cai", "CaSR", "Cass"});
//   lstm::TimeSplit split = lstm::split_frames(data.frames, 0.8);
//   auto stats = lstm::attribute_stats(data, split.train_end);
//   auto starts = lstm::window_starts(0, split.train_end, 200, 100, 0, seed);

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "monodomain/tissue.hpp"

namespace metaeik::surrogates::lstm {

/// The selected variables of every saved frame, float32, C order [frame][variable][node].
struct StatesData {
  std::vector<std::string> variables;  ///< in the requested order
  monodomain::Grid grid;
  double interval_ms = 1;  ///< time between frames
  std::size_t frames = 0, nodes = 0;
  std::vector<float> values;  ///< frames × variables × nodes
  std::size_t frame_size() const { return variables.size() * nodes; }
  const float* frame(std::size_t f) const { return values.data() + f * frame_size(); }
};

/// Reads `dir/states.json` and `dir/states.bin`, keeping `variables` (in that order). Errors name
/// the file and the problem (missing key, missing variable, wrong dtype, wrong file size).
StatesData load_states(const std::filesystem::path& dir, const std::vector<std::string>& variables);

/// The first `train_end` frames train, frames [train_end, frames) test.
struct TimeSplit {
  std::size_t frames = 0;
  std::size_t train_end = 0;
};

/// train_end = floor(fraction · frames); both parts must hold at least two frames.
TimeSplit split_frames(std::size_t frames, double train_fraction);

/// Per-variable statistics over the frames [0, end) and all nodes (double accumulation).
struct AttributeStats {
  std::vector<double> mean, std;  ///< z-scoring (std floored at 1e-12)
  std::vector<double> min, max;   ///< for the [−1, 1] remap
};
AttributeStats attribute_stats(const StatesData& data, std::size_t end);

/// z = (x − mean) / std per variable, frames [first, first + count) → count × frame_size values.
std::vector<float> zscore_frames(const StatesData& data, const AttributeStats& s, std::size_t first,
                                 std::size_t count);

/// Start frames of windows of `length` frames inside [begin, end): s = begin, begin + stride, ...
/// with s + length ≤ end. `max_windows` > 0 keeps that many, drawn without replacement with
/// `seed` and sorted. Input frames of a window are s … s+length−2, targets s+1 … s+length−1.
std::vector<std::size_t> window_starts(std::size_t begin, std::size_t end, std::size_t length,
                                       std::size_t stride, std::size_t max_windows, std::uint64_t seed);

/// `count` windows of `length` frames spread evenly over [begin, end) (fewer if they do not fit).
std::vector<std::size_t> even_window_starts(std::size_t begin, std::size_t end, std::size_t length,
                                            std::size_t count);

}  // namespace metaeik::surrogates::lstm
