#include "surrogates/aphyn/traces.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) {
    const auto b = cell.find_first_not_of(" \t\r");
    const auto e = cell.find_last_not_of(" \t\r");
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

/// `s` for an error message: control bytes as \xNN (a '\r' inside a cell must not break the one-line
/// message), cut after 40 characters.
std::string printable(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
    } else {
      static const char* const hex = "0123456789ABCDEF";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  if (s.size() > 40) out += "...";
  return out;
}

/// states.json value `key` of `j` (at `path`, e.g. "grid.nodes") as T; a missing key or wrong type is an
/// error naming the file and the key.
template <class T>
T header_value(const core::Json& j, const std::string& key, const std::string& path,
               const std::string& file) {
  METAEIK_CHECK(j.is_object() && j.contains(key), file << ": key '" << path << "' is missing");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    METAEIK_FAIL(file << ": key '" << path << "' has the wrong type (" << core::json_type_name(j.at(key))
                      << ")");
  }
}

/// `n` positive integers ≤ `max` (nlohmann's get<> would wrap negative and huge values and truncate
/// fractions).
std::vector<std::size_t> header_counts(const core::Json& j, const std::string& key, const std::string& path,
                                       std::size_t n, std::uint64_t max, const std::string& file) {
  const auto a = header_value<core::Json>(j, key, path, file);
  METAEIK_CHECK(a.is_array() && a.size() == n,
                file << ": key '" << path << "' must be an array of " << n << " counts");
  std::vector<std::size_t> out;
  for (const auto& x : a) {
    METAEIK_CHECK(
        x.is_number_unsigned() && x.get<std::uint64_t>() >= 1 && x.get<std::uint64_t>() <= max,
        file << ": key '" << path << "' must hold integers from 1 to " << max << ", got " << x.dump());
    out.push_back(static_cast<std::size_t>(x.get<std::uint64_t>()));
  }
  return out;
}

}  // namespace

TraceSet read_trace_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  METAEIK_CHECK(in, path.string() << ": cannot open the trace file");
  const std::string file = path.string();
  std::string line;
  METAEIK_CHECK(std::getline(in, line), file << ": empty file (expected a header 'time,<trace>,...')");
  const auto header = split_csv_line(line);
  METAEIK_CHECK(header.size() >= 2, file << ": line 1: expected a time column and at least one trace column");
  TraceSet set;
  set.names.assign(header.begin() + 1, header.end());
  for (std::size_t c = 0; c < set.names.size(); ++c)
    METAEIK_CHECK(!set.names[c].empty(), file << ": line 1: column " << c + 2 << " has no name");
  set.values.resize(set.names.size());
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split_csv_line(line);
    METAEIK_CHECK(cells.size() == header.size(), file << ": line " << line_no << ": expected "
                                                      << header.size() << " columns, got " << cells.size());
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string& column = c == 0 ? header[0] : header[c];
      double x = 0;
      const char* b = cells[c].data();
      const char* e = b + cells[c].size();
      const auto [ptr, ec] = std::from_chars(b, e, x);
      METAEIK_CHECK(ec == std::errc() && ptr == e && !cells[c].empty(),
                    file << ": line " << line_no << ", column '" << printable(column) << "': not a number: \""
                         << printable(cells[c]) << "\"");
      METAEIK_CHECK(std::isfinite(x), file << ": line " << line_no << ", column '" << printable(column)
                                           << "': value is not finite");
      if (c == 0) {
        METAEIK_CHECK(set.time.empty() || x > set.time.back(),
                      file << ": line " << line_no << ", column '" << printable(column) << "': time " << x
                           << " is not greater than the previous " << set.time.back());
        set.time.push_back(x);
      } else {
        set.values[c - 1].push_back(x);
      }
    }
  }
  METAEIK_CHECK(set.time.size() >= 2, file << ": need at least two rows of samples, got " << set.time.size());
  return set;
}

void write_trace_csv(const std::filesystem::path& path, const TraceSet& traces) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << "time";
    for (const auto& n : traces.names) os << ',' << n;
    os << '\n' << std::setprecision(9);
    for (std::size_t k = 0; k < traces.time.size(); ++k) {
      os << traces.time[k];
      for (const auto& v : traces.values) os << ',' << v[k];
      os << '\n';
    }
  });
}

TraceSet read_tissue_traces(const std::filesystem::path& dir, const TissueTraceOptions& o) {
  const auto header_path = dir / "states.json";
  const core::Json h = core::load_json_file(header_path);
  const std::string hs = header_path.string();
  METAEIK_CHECK(h.is_object() && h.contains("shape") && h.contains("variables") && h.contains("times_ms") &&
                    h.contains("grid"),
                hs << ": not a states.json (needs shape, variables, times_ms, grid)");
  // Every count is checked before it sizes anything: the file size and the node count are products of
  // them, and cells are indexed with grid.nodes into frames of shape[2] nodes.
  const auto shape = header_counts(h, "shape", "shape", 3, std::uint64_t(1) << 40, hs);
  const auto variables = header_value<std::vector<std::string>>(h, "variables", "variables", hs);
  const auto times = header_value<std::vector<double>>(h, "times_ms", "times_ms", hs);
  const auto nodes = header_counts(header_value<core::Json>(h, "grid", "grid", hs), "nodes", "grid.nodes", 3,
                                   std::numeric_limits<int>::max(), hs);
  const std::size_t F = shape[0], V = shape[1], N = shape[2];
  METAEIK_CHECK(times.size() == F && variables.size() == V,
                hs << ": shape [" << F << "," << V << "," << N << "] does not match the " << times.size()
                   << " times_ms and " << variables.size() << " variables");
  for (std::size_t f = 1; f < F; ++f)
    METAEIK_CHECK(times[f] > times[f - 1], hs << ": times_ms[" << f << "] = " << times[f]
                                              << " is not greater than the previous " << times[f - 1]);
  METAEIK_CHECK(double(nodes[0]) * double(nodes[1]) * double(nodes[2]) == double(N) &&
                    nodes[0] * nodes[1] * nodes[2] == N,
                hs << ": grid.nodes " << nodes[0] << " x " << nodes[1] << " x " << nodes[2]
                   << " does not match shape[2] = " << N);
  const auto var_it = std::find(variables.begin(), variables.end(), o.variable);
  METAEIK_CHECK(var_it != variables.end(), hs << ": no variable \"" << o.variable << "\" in states.bin");
  const std::size_t var = var_it - variables.begin();
  std::filesystem::path bin = dir / "states.bin";
  if (o.noisy) {
    METAEIK_CHECK(h.contains("noisy_file"), hs << ": the run has no noisy copy (set output.noise > 0)");
    bin = dir / header_value<std::string>(h, "noisy_file", "noisy_file", hs);
  }
  const int nx = static_cast<int>(nodes[0]), ny = static_cast<int>(nodes[1]);
  const std::array<int, 2> hi{o.hi[0] < 0 ? nx - 1 : o.hi[0], o.hi[1] < 0 ? ny - 1 : o.hi[1]};
  METAEIK_CHECK(
      o.lo[0] >= 0 && o.lo[1] >= 0 && o.lo[0] <= hi[0] && o.lo[1] <= hi[1] && hi[0] < nx && hi[1] < ny,
      hs << ": region [" << o.lo[0] << "," << o.lo[1] << "]–[" << hi[0] << "," << hi[1]
         << "] is not inside the " << nx << " x " << ny << " grid");
  METAEIK_CHECK(o.stride >= 1, "stride must be ≥ 1, got " << o.stride);

  std::vector<std::size_t> frames;
  if (o.sample_interval > 0) {
    // Counted, not accumulated until t > times.back(): that loop ran ~1e308 / interval times for a
    // corrupted last time. Resampling finer than 1/16 of the saved frames only repeats them.
    const double count = std::floor((times.back() + 1e-9 - times.front()) / o.sample_interval) + 1;
    METAEIK_CHECK(count <= 16.0 * F, hs << ": sample_interval " << o.sample_interval << " ms over "
                                        << times.front() << "–" << times.back() << " ms gives " << count
                                        << " frames, more than 16 x the " << F << " saved frames");
    for (std::size_t k = 0; k < static_cast<std::size_t>(count); ++k) {
      const double t = times.front() + o.sample_interval * k;
      const auto it = std::lower_bound(times.begin(), times.end(), t);
      std::size_t f = it - times.begin();
      if (f > 0 && (f == times.size() || std::abs(times[f - 1] - t) <= std::abs(times[f] - t))) --f;
      frames.push_back(f);
    }
  } else {
    for (std::size_t f = 0; f < F; ++f) frames.push_back(f);
  }

  std::ifstream in(bin, std::ios::binary);
  METAEIK_CHECK(in, bin.string() << ": cannot open");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  // In double first: F·V·N·4 (each count ≤ 2^40) may not fit 64 bits, but then it is not the file size.
  METAEIK_CHECK(
      double(F) * double(V) * double(N) * 4 <= 9e18 && size >= 0 && std::uint64_t(size) == F * V * N * 4,
      bin.string() << ": size " << size << " bytes does not match shape [" << F << "," << V << "," << N
                   << "]");
  TraceSet set;
  std::vector<std::size_t> cells;
  for (int j = o.lo[1]; j <= hi[1]; j += o.stride)
    for (int i = o.lo[0]; i <= hi[0]; i += o.stride) {
      cells.push_back(static_cast<std::size_t>(i) + static_cast<std::size_t>(nx) * j);
      set.names.push_back("x" + std::to_string(i) + "_y" + std::to_string(j));
    }
  set.values.assign(cells.size(), {});
  std::vector<float> frame(N);
  for (std::size_t f : frames) {
    in.seekg(static_cast<std::streamoff>(4 * (f * V + var) * N));
    in.read(reinterpret_cast<char*>(frame.data()), static_cast<std::streamsize>(4 * N));
    METAEIK_CHECK(in, bin.string() << ": read failed at frame " << f);
    set.time.push_back(o.sample_interval > 0 ? times.front() + o.sample_interval * set.time.size()
                                             : times[f]);
    for (std::size_t c = 0; c < cells.size(); ++c) {
      METAEIK_CHECK(std::isfinite(frame[cells[c]]), bin.string()
                                                        << ": non-finite value of '" << o.variable
                                                        << "' at frame " << f << ", node " << cells[c]);
      set.values[c].push_back(frame[cells[c]]);
    }
  }
  return set;
}

std::vector<Trace> prepare_traces(const TraceSet& traces, const PrepareOptions& o,
                                  const std::string& source) {
  METAEIK_CHECK(o.start_threshold > 0 && o.start_threshold < 1,
                "start_threshold must lie in (0, 1), got " << o.start_threshold);
  METAEIK_CHECK(o.horizon > 0, "horizon must be positive, got " << o.horizon);
  std::vector<Trace> out;
  int flat = 0, never = 0, short_ = 0;
  const double tol = traces.time.size() > 1 ? 0.5 * (traces.time[1] - traces.time[0]) : 0.0;
  for (std::size_t c = 0; c < traces.values.size(); ++c) {
    const auto& raw = traces.values[c];
    const auto [mn, mx] = std::minmax_element(raw.begin(), raw.end());
    if (!(*mx > *mn)) {
      ++flat;
      continue;
    }
    Trace tr;
    tr.name = traces.names[c];
    tr.v_min = *mn;
    tr.v_max = *mx;
    const double scale = 1.0 / (*mx - *mn);
    std::size_t start = 0;
    while (start < raw.size() && (raw[start] - *mn) * scale < o.start_threshold) ++start;
    if (start == raw.size()) {
      ++never;
      continue;
    }
    const double t0 = traces.time[start];
    if (traces.time.back() - t0 < o.horizon - tol) {
      ++short_;
      continue;
    }
    for (std::size_t k = start; k < raw.size() && traces.time[k] - t0 <= o.horizon + 1e-9; ++k) {
      tr.t.push_back(traces.time[k] - t0);
      tr.v.push_back((raw[k] - *mn) * scale);
    }
    out.push_back(std::move(tr));
  }
  if (flat + never + short_ > 0)
    spdlog::warn(
        "{}: dropped {} of {} traces ({} flat, {} never reach {}, {} shorter than {} ms after the upstroke)",
        source, flat + never + short_, traces.values.size(), flat, never, o.start_threshold, short_,
        o.horizon);
  METAEIK_CHECK(!out.empty(),
                source << ": no usable trace (all flat, below start_threshold or shorter than the horizon "
                       << o.horizon << " ms)");
  return out;
}

}  // namespace metaeik::surrogates::aphyn
