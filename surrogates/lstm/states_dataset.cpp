#include "surrogates/lstm/states_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

namespace metaeik::surrogates::lstm {

namespace {

template <class T>
T json_value(const core::Json& h, const std::string& key, const std::string& file) {
  METAEIK_CHECK(h.contains(key), file << ": key '" << key << "' is missing");
  try {
    return h.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    METAEIK_FAIL(file << ": key '" << key << "' has the wrong type (" << core::json_type_name(h.at(key))
                      << ")");
  }
}

}  // namespace

StatesData load_states(const std::filesystem::path& dir, const std::vector<std::string>& variables) {
  const auto json_path = dir / "states.json";
  const std::string jname = json_path.string();
  METAEIK_CHECK(std::filesystem::is_regular_file(json_path),
                jname << ": not found (expected the output directory of `metaeikonal tissue`)");
  const core::Json h = core::load_json_file(json_path);
  METAEIK_CHECK(h.is_object(), jname << ": expected a JSON object");
  const auto dtype = json_value<std::string>(h, "dtype", jname);
  METAEIK_CHECK(dtype == "float32", jname << ": key 'dtype' must be \"float32\", got \"" << dtype << "\"");
  if (h.contains("byte_order"))
    METAEIK_CHECK(json_value<std::string>(h, "byte_order", jname) == "little",
                  jname << ": key 'byte_order' must be \"little\"");
  const auto shape = json_value<std::vector<long long>>(h, "shape", jname);
  METAEIK_CHECK(shape.size() == 3 && shape[0] > 0 && shape[1] > 0 && shape[2] > 0,
                jname << ": key 'shape' must be [frames, variables, nodes] with positive sizes");
  const auto names = json_value<std::vector<std::string>>(h, "variables", jname);
  METAEIK_CHECK(static_cast<long long>(names.size()) == shape[1],
                jname << ": key 'variables' has " << names.size() << " names but shape[1] is " << shape[1]);
  StatesData d;
  d.frames = static_cast<std::size_t>(shape[0]);
  d.nodes = static_cast<std::size_t>(shape[2]);
  d.interval_ms = json_value<double>(h, "interval_ms", jname);
  METAEIK_CHECK(d.interval_ms > 0, jname << ": key 'interval_ms' must be positive, got " << d.interval_ms);
  METAEIK_CHECK(h.contains("grid") && h.at("grid").is_object(), jname << ": key 'grid' is missing");
  const auto nodes = json_value<std::vector<int>>(h.at("grid"), "nodes", jname + " grid");
  METAEIK_CHECK(nodes.size() == 3, jname << ": key 'grid.nodes' must have 3 entries");
  // Each ≥ 1: Grid::size() multiplies them as size_t, so [-1, -6, 1] would pass as 6 nodes.
  METAEIK_CHECK(
      nodes[0] >= 1 && nodes[1] >= 1 && nodes[2] >= 1,
      jname << ": key 'grid.nodes' must be positive, got " << nodes[0] << "x" << nodes[1] << "x" << nodes[2]);
  d.grid.nx = nodes[0];
  d.grid.ny = nodes[1];
  d.grid.nz = nodes[2];
  if (h.at("grid").contains("spacing_mm")) {
    const auto sp = json_value<std::vector<double>>(h.at("grid"), "spacing_mm", jname + " grid");
    METAEIK_CHECK(sp.size() == 3, jname << ": key 'grid.spacing_mm' must have 3 entries");
    d.grid.dx = sp[0];
    d.grid.dy = sp[1];
    d.grid.dz = sp[2];
  }
  METAEIK_CHECK(d.grid.size() == d.nodes, jname << ": grid.nodes " << nodes[0] << "x" << nodes[1] << "x"
                                                << nodes[2] << " does not match shape[2] = " << d.nodes);
  std::vector<std::size_t> index;
  for (const auto& v : variables) {
    const auto it = std::find(names.begin(), names.end(), v);
    METAEIK_CHECK(
        it != names.end(), jname << ": variable '" << v << "' is missing (has " << [&] {
          std::string s;
          for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
          return s;
        }() << ")");
    index.push_back(static_cast<std::size_t>(it - names.begin()));
  }
  d.variables = variables;

  const auto bin_path = dir / (h.contains("file") ? json_value<std::string>(h, "file", jname) : "states.bin");
  const std::string bname = bin_path.string();
  METAEIK_CHECK(std::filesystem::is_regular_file(bin_path), bname << ": not found");
  const std::size_t all_vars = names.size();
  const std::uintmax_t size = std::filesystem::file_size(bin_path);
  // In double first: corrupted counts could wrap 4·F·V·N around 2^64 onto the file size.
  const double needed = 4.0 * double(d.frames) * double(all_vars) * double(d.nodes);
  METAEIK_CHECK(needed <= 9e18, bname << ": has " << size << " bytes, but states.json shape [" << shape[0]
                                      << ", " << shape[1] << ", " << shape[2] << "] needs " << needed);
  const std::uintmax_t expected = 4ull * d.frames * all_vars * d.nodes;
  METAEIK_CHECK(size == expected, bname << ": has " << size << " bytes, but states.json shape [" << shape[0]
                                        << ", " << shape[1] << ", " << shape[2] << "] needs " << expected);
  std::ifstream in(bin_path, std::ios::binary);
  METAEIK_CHECK(in, bname << ": cannot open");
  d.values.resize(d.frames * d.frame_size());
  std::vector<float> block(all_vars * d.nodes);
  for (std::size_t f = 0; f < d.frames; ++f) {
    in.read(reinterpret_cast<char*>(block.data()),
            static_cast<std::streamsize>(block.size() * sizeof(float)));
    METAEIK_CHECK(in, bname << ": read failed at frame " << f);
    float* out = d.values.data() + f * d.frame_size();
    for (std::size_t k = 0; k < index.size(); ++k) {
      const float* src = block.data() + index[k] * d.nodes;
      for (std::size_t c = 0; c < d.nodes; ++c) {
        METAEIK_CHECK(std::isfinite(src[c]), bname << ": non-finite value of '" << variables[k]
                                                   << "' at frame " << f << ", node " << c);
        out[k * d.nodes + c] = src[c];
      }
    }
  }
  return d;
}

TimeSplit split_frames(std::size_t frames, double train_fraction) {
  METAEIK_CHECK(train_fraction > 0 && train_fraction < 1,
                "train_fraction must lie in (0, 1), got " << train_fraction);
  TimeSplit s;
  s.frames = frames;
  s.train_end = static_cast<std::size_t>(std::floor(train_fraction * static_cast<double>(frames)));
  METAEIK_CHECK(s.train_end >= 2 && frames - s.train_end >= 2,
                "the time split of " << frames << " frames at " << train_fraction
                                     << " leaves fewer than 2 frames in a part");
  return s;
}

AttributeStats attribute_stats(const StatesData& data, std::size_t end) {
  METAEIK_CHECK(end >= 1 && end <= data.frames, "statistics range of " << end << " frames outside the data");
  const std::size_t nv = data.variables.size();
  AttributeStats s;
  s.mean.assign(nv, 0);
  s.std.assign(nv, 0);
  s.min.assign(nv, INFINITY);
  s.max.assign(nv, -INFINITY);
  for (std::size_t v = 0; v < nv; ++v) {
    double sum = 0, sq = 0;
    for (std::size_t f = 0; f < end; ++f) {
      const float* x = data.frame(f) + v * data.nodes;
      for (std::size_t c = 0; c < data.nodes; ++c) {
        sum += x[c];
        s.min[v] = std::min<double>(s.min[v], x[c]);
        s.max[v] = std::max<double>(s.max[v], x[c]);
      }
    }
    const double n = static_cast<double>(end * data.nodes);
    s.mean[v] = sum / n;
    for (std::size_t f = 0; f < end; ++f) {
      const float* x = data.frame(f) + v * data.nodes;
      for (std::size_t c = 0; c < data.nodes; ++c) sq += (x[c] - s.mean[v]) * (x[c] - s.mean[v]);
    }
    s.std[v] = std::max(std::sqrt(sq / n), 1e-12);
  }
  return s;
}

std::vector<float> zscore_frames(const StatesData& data, const AttributeStats& s, std::size_t first,
                                 std::size_t count) {
  METAEIK_CHECK(first + count <= data.frames, "frames " << first << " + " << count << " outside the data");
  const std::size_t fs = data.frame_size();
  std::vector<float> z(count * fs);
  for (std::size_t f = 0; f < count; ++f)
    for (std::size_t v = 0; v < data.variables.size(); ++v) {
      const float* x = data.frame(first + f) + v * data.nodes;
      float* out = z.data() + f * fs + v * data.nodes;
      for (std::size_t c = 0; c < data.nodes; ++c) out[c] = static_cast<float>((x[c] - s.mean[v]) / s.std[v]);
    }
  return z;
}

std::vector<std::size_t> window_starts(std::size_t begin, std::size_t end, std::size_t length,
                                       std::size_t stride, std::size_t max_windows, std::uint64_t seed) {
  METAEIK_CHECK(length >= 2, "window must hold at least 2 frames, got " << length);
  METAEIK_CHECK(stride >= 1, "stride must be at least 1");
  METAEIK_CHECK(begin + length <= end,
                "window of " << length << " frames is longer than the " << end - begin << " training frames");
  std::vector<std::size_t> starts;
  for (std::size_t s = begin; s + length <= end; s += stride) starts.push_back(s);
  if (max_windows > 0 && max_windows < starts.size()) {
    auto rng = core::make_rng(seed, 7);
    std::shuffle(starts.begin(), starts.end(), rng);
    starts.resize(max_windows);
    std::sort(starts.begin(), starts.end());
  }
  return starts;
}

std::vector<std::size_t> even_window_starts(std::size_t begin, std::size_t end, std::size_t length,
                                            std::size_t count) {
  std::vector<std::size_t> starts;
  if (count == 0 || begin + length > end) return starts;
  const std::size_t span = end - length - begin;  // last start = begin + span
  const std::size_t n = std::min(count, span + 1);
  for (std::size_t k = 0; k < n; ++k) starts.push_back(begin + (n == 1 ? 0 : k * span / (n - 1)));
  return starts;
}

}  // namespace metaeik::surrogates::lstm
