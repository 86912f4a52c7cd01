// Fuzzed tissue output: a tiny real `metaeikonal tissue` run (TTP06, 4 × 3 nodes, 7 frames of V, Cai,
// CaSR, Cass) is written once; seeded corruptions of its states.json and states.bin, read the way
// `metaeikonal lstm --data` reads them (load_states), must each end in a one-line error or a valid
// StatesData (consistent sizes, finite values), fast and with bounded memory.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>

#include "core/config.hpp"
#include "monodomain/tissue_run.hpp"
#include "surrogates/lstm/states_dataset.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/fuzz.hpp"

namespace metaeik::surrogates::lstm {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kVariables{"V", "Cai", "CaSR", "Cass"};

/// The tissue output directory `dir / "run"` of a 3 ms TTP06 run on 4 × 3 nodes, states every 0.5 ms.
fs::path tiny_run(const test::TempDir& dir) {
  const core::Json j = core::Json::parse(R"({
    "cell": {"model": "ttp06", "variant": "epi"},
    "grid": {"nodes": [4, 3], "dx": 0.5},
    "diffusion": {"d_long": 0.1, "d_trans": 0.1},
    "time": {"dt": 0.02, "duration": 3},
    "stimuli": [{"lo": [0, 0], "hi": [0.5, 0.5], "start": 0, "duration": 1, "amplitude": 100}],
    "output": {"states": ["V", "Cai", "CaSR", "Cass"], "binary_interval": 0.5, "maps": false}
  })");
  const fs::path out = dir / "run";
  monodomain::run_tissue(monodomain::read_tissue_config(j, "tiny.json"), out, false);
  return out;
}

void load_and_check(const fs::path& run) {
  const StatesData d = load_states(run, kVariables);
  if (d.frames == 0 || d.nodes == 0 || d.values.size() != d.frames * d.frame_size())
    throw std::logic_error("load_states returned inconsistent sizes");
  if (d.grid.nx < 1 || d.grid.ny < 1 || d.grid.nz < 1 || d.grid.size() != d.nodes)
    throw std::logic_error("load_states returned a grid that does not match the nodes");
  if (!(d.interval_ms > 0) || !std::isfinite(d.interval_ms))
    throw std::logic_error("load_states: bad interval");
  for (float x : d.values)
    if (!std::isfinite(x)) throw std::logic_error("load_states returned a non-finite value");
}

void fuzz_run_file(const fs::path& run, const std::string& name, std::uint64_t seed, int cases) {
  const fs::path file = run / name;
  const std::string original = test::read_bytes(file);
  ASSERT_FALSE(original.empty()) << file;
  const auto r = test::fuzz_file(original, seed, cases, run, [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    load_and_check(run);
  });
  test::write_bytes(file, original);
  test::expect_clean(r, "lstm " + name);
}

TEST(StatesDataset_fuzz, StatesJsonAndBin) {
  test::TempDir dir("lstm_states_fuzz");
  const fs::path run = tiny_run(dir);
  const StatesData ok = load_states(run, kVariables);
  ASSERT_EQ(ok.frames, 7u);
  ASSERT_EQ(ok.nodes, 12u);
  fuzz_run_file(run, "states.json", 601, 3000);
  fuzz_run_file(run, "states.bin", 602, 3000);
}

// Two corruptions that need more than one mutation, so the fuzzer is unlikely to meet them: negative
// grid.nodes whose size_t product is the node count were accepted (a grid of -1 x -12 x 1 nodes), and a
// frame count that wraps 4·F·V·N around 2^64 onto the file size passed the size check (the read then
// failed at frame 7 with a misleading message).
TEST(StatesDataset_fuzz, WrappedCountsAreCleanErrors) {
  test::TempDir dir("lstm_states_wrapped");
  const fs::path run = tiny_run(dir);
  const fs::path json = run / "states.json";
  const core::Json header = core::load_json_file(json);
  const auto with = [&](const std::function<void(core::Json&)>& patch) {
    core::Json h = header;
    patch(h);
    test::write_bytes(json, h.dump());
    return test::error_of([&] { load_states(run, kVariables); });
  };
  EXPECT_EQ(with([](core::Json& h) {
              h["grid"]["nodes"] = {-1, -12, 1};
            }),
            json.string() + ": key 'grid.nodes' must be positive, got -1x-12x1");
  EXPECT_EQ(with([](core::Json& h) { h["shape"][0] = (std::int64_t(1) << 62) + 7; }),
            (run / "states.bin").string() +
                ": has 1344 bytes, but states.json shape [4611686018427387911, 4, 12] needs 8.85444e+20");
  EXPECT_EQ(with([](core::Json&) {}), "(no error)");
}

}  // namespace
}  // namespace metaeik::surrogates::lstm
