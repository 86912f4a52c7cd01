// Fuzzed trace inputs of APHYN-EP: seeded corruptions of a trace CSV (read_trace_csv) and of a tiny
// real tissue run's states.json / states.bin (read_tissue_traces, with and without resampling), must
// each end in a one-line error or a valid TraceSet (strictly increasing finite times, one finite
// value per time and trace), fast and with bounded memory.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>

#include "core/config.hpp"
#include "monodomain/tissue_run.hpp"
#include "surrogates/aphyn/traces.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/fuzz.hpp"

namespace metaeik::surrogates::aphyn {
namespace {

namespace fs = std::filesystem;

void check_trace_set(const TraceSet& s) {
  if (s.time.empty() || s.values.empty() || s.names.size() != s.values.size())
    throw std::logic_error("empty trace set or names do not match the traces");
  for (std::size_t k = 0; k < s.time.size(); ++k)
    if (!std::isfinite(s.time[k]) || (k > 0 && !(s.time[k] > s.time[k - 1])))
      throw std::logic_error("times are not finite and strictly increasing");
  for (const auto& v : s.values) {
    if (v.size() != s.time.size()) throw std::logic_error("a trace does not have one value per time");
    for (double x : v)
      if (!std::isfinite(x)) throw std::logic_error("a trace value is not finite");
  }
}

/// 3 traces × 40 rows, irregular sampling, the way write_trace_csv writes them.
TraceSet csv_seed() {
  TraceSet s;
  s.names = {"pixel_a", "b", "c3"};
  s.values.resize(3);
  double t = 0;
  for (int k = 0; k < 40; ++k) {
    s.time.push_back(t);
    t += k % 3 == 0 ? 0.5 : 1.25;
    for (int c = 0; c < 3; ++c)
      s.values[c].push_back(k < 5 + c ? -85.0 : 20.0 - 2.5 * (k - 5 - c) + 0.125 * c);
  }
  return s;
}

TEST(AphynTraces_fuzz, Csv) {
  test::TempDir dir("aphyn_csv_fuzz");
  const fs::path file = dir / "traces.csv";
  write_trace_csv(file, csv_seed());
  const std::string original = test::read_bytes(file);
  check_trace_set(read_trace_csv(file));
  const auto r = test::fuzz_file(original, 701, 3000, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    check_trace_set(read_trace_csv(file));
  });
  test::expect_clean(r, "aphyn csv");
}

/// The tissue output directory `dir / "run"` of a 4 ms TTP06 run on 5 × 4 nodes, V every 0.5 ms, with
/// a noisy copy (as configs/tissue/aphyn_slab.json, much smaller).
fs::path tiny_run(const test::TempDir& dir) {
  const core::Json j = core::Json::parse(R"({
    "cell": {"model": "ttp06", "variant": "epi"},
    "grid": {"nodes": [5, 4], "dx": 0.5},
    "diffusion": {"d_long": 0.1, "d_trans": 0.1},
    "time": {"dt": 0.02, "duration": 4},
    "stimuli": [{"lo": [0, 0], "hi": [0.5, 0.5], "start": 0, "duration": 1, "amplitude": 100}],
    "output": {"states": ["V"], "binary_interval": 0.5, "maps": false, "noise": 0.05}
  })");
  const fs::path out = dir / "run";
  monodomain::run_tissue(monodomain::read_tissue_config(j, "tiny.json"), out, false);
  return out;
}

void fuzz_tissue_file(const fs::path& run, const std::string& name, const TissueTraceOptions& o,
                      std::uint64_t seed, int cases, const std::string& label) {
  const fs::path file = run / name;
  const std::string original = test::read_bytes(file);
  ASSERT_FALSE(original.empty()) << file;
  check_trace_set(read_tissue_traces(run, o));
  const auto r = test::fuzz_file(original, seed, cases, run, [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    check_trace_set(read_tissue_traces(run, o));
  });
  test::write_bytes(file, original);
  test::expect_clean(r, label);
}

/// A tiny run, checked: 9 frames (0–4 ms) of 20 nodes.
fs::path checked_tiny_run(const test::TempDir& dir) {
  const fs::path run = tiny_run(dir);
  const TraceSet ok = read_tissue_traces(run, {});
  EXPECT_EQ(ok.time.size(), 9u);
  EXPECT_EQ(ok.values.size(), 20u);
  return run;
}

TEST(AphynTraces_fuzz, TissueStatesJson) {
  test::TempDir dir("aphyn_tissue_fuzz_json");
  fuzz_tissue_file(checked_tiny_run(dir), "states.json", {}, 711, 3000, "aphyn states.json");
}

// A region, every other node, resampled to 0.7 ms, from the noisy copy (states.json names it).
TEST(AphynTraces_fuzz, TissueStatesJsonRoiResampledNoisy) {
  test::TempDir dir("aphyn_tissue_fuzz_roi");
  TissueTraceOptions roi;
  roi.lo = {1, 1};
  roi.hi = {4, 3};
  roi.stride = 2;
  roi.sample_interval = 0.7;
  roi.noisy = true;
  fuzz_tissue_file(checked_tiny_run(dir), "states.json", roi, 712, 3000,
                   "aphyn states.json (roi, resampled, noisy)");
}

TEST(AphynTraces_fuzz, TissueStatesBin) {
  test::TempDir dir("aphyn_tissue_fuzz_bin");
  fuzz_tissue_file(checked_tiny_run(dir), "states.bin", {}, 713, 3000, "aphyn states.bin");
}

// The inputs the fuzzer found (and the known risks), as exact errors.
TEST(AphynTraces_fuzz, FoundCasesAreCleanErrors) {
  test::TempDir dir("aphyn_found");
  // A '\r' inside a cell used to end up raw in the message, which then spanned two lines.
  const fs::path csv = dir / "cr.csv";
  test::write_bytes(csv, "time,a\n0,1\n1,2\r5\n");
  EXPECT_EQ(test::error_of([&] { read_trace_csv(csv); }),
            csv.string() + ": line 3, column 'a': not a number: \"2\\x0D5\"");

  const fs::path run = tiny_run(dir);
  const fs::path json = run / "states.json", bin = run / "states.bin";
  const std::string hs = json.string();
  const core::Json header = core::load_json_file(json);
  const auto with = [&](const std::function<void(core::Json&)>& patch, const TissueTraceOptions& o = {}) {
    core::Json h = header;
    patch(h);
    test::write_bytes(json, h.dump());
    return test::error_of([&] { read_tissue_traces(run, o); });
  };
  // nlohmann's exceptions escaped (a deleted key, a string among the times).
  EXPECT_EQ(with([](core::Json& h) { h["grid"].erase("nodes"); }), hs + ": key 'grid.nodes' is missing");
  EXPECT_EQ(with([](core::Json& h) { h["times_ms"][3] = "x"; }),
            hs + ": key 'times_ms' has the wrong type (an array)");
  // Negative counts wrapped to 2^64 − 1; fractions were truncated.
  EXPECT_EQ(with([](core::Json& h) { h["shape"][1] = -1; }),
            hs + ": key 'shape' must hold integers from 1 to 1099511627776, got -1");
  EXPECT_EQ(with([](core::Json& h) { h["grid"]["nodes"][0] = 3.5; }),
            hs + ": key 'grid.nodes' must hold integers from 1 to 2147483647, got 3.5");
  // Unordered times were returned as a trace set whose time axis is not increasing.
  EXPECT_EQ(with([](core::Json& h) { h["times_ms"][2] = 0; }),
            hs + ": times_ms[2] = 0 is not greater than the previous 0.5");
  // grid.nodes was not checked against shape[2]: nodes beyond the frame were read (out of bounds; with
  // 2147483647 nodes in x the reader built 8.6e9 cell names, > 20 GB, before that).
  EXPECT_EQ(with([](core::Json& h) { h["grid"]["nodes"][0] = 2147483647; }),
            hs + ": grid.nodes 2147483647 x 4 x 1 does not match shape[2] = 20");
  TissueTraceOptions roi;
  roi.lo = {1, 1};
  roi.hi = {4, 3};
  EXPECT_EQ(with(
                [](core::Json& h) {
                  h["grid"]["nodes"] = {50, 4, 1};
                },
                roi),
            hs + ": grid.nodes 50 x 4 x 1 does not match shape[2] = 20");
  // F·V·N·4 overflowed: shape[2] = 2^62 + 20 made it equal the 720-byte file, then 2^62 floats were
  // allocated.
  EXPECT_EQ(with([](core::Json& h) { h["shape"][2] = (std::uint64_t(1) << 62) + 20; }),
            hs + ": key 'shape' must hold integers from 1 to 1099511627776, got 4611686018427387924");
  // A huge last time made the resampling loop run ~1e308 / 0.7 times.
  TissueTraceOptions resampled;
  resampled.sample_interval = 0.7;
  EXPECT_EQ(with([](core::Json& h) { h["times_ms"][8] = 1e308; }, resampled),
            hs + ": sample_interval 0.7 ms over 0–1e+308 ms gives 1.42857e+308 frames, more than 16 x the 9 "
                 "saved frames");
  test::write_bytes(json, header.dump());
  // Non-finite values in states.bin (a flipped exponent bit) were returned as trace values.
  std::string bytes = test::read_bytes(bin);
  const std::string good = bytes;
  bytes[4 * 7 + 3] = char(0x7F), bytes[4 * 7 + 2] = char(0xC0);  // frame 0, node 7: NaN
  test::write_bytes(bin, bytes);
  EXPECT_EQ(test::error_of([&] { read_tissue_traces(run, {}); }),
            bin.string() + ": non-finite value of 'V' at frame 0, node 7");
  test::write_bytes(bin, good);
  EXPECT_EQ(test::error_of([&] { read_tissue_traces(run, {}); }), "(no error)");
}

}  // namespace
}  // namespace metaeik::surrogates::aphyn
