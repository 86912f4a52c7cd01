// Fuzzed tissue configs: seeded corruptions of the shipped configs/tissue/*.json, read the way
// `metaeikonal tissue --config` reads them (load_json_file + read_tissue_config), must each end in a
// one-line error or a valid config, fast and with bounded memory.

#include <gtest/gtest.h>

#include "../support/cli.hpp"
#include "../support/errors.hpp"
#include "../support/fuzz.hpp"
#include "core/config.hpp"
#include "monodomain/tissue_run.hpp"

namespace metaeik::monodomain {
namespace {

namespace fs = std::filesystem;

void fuzz_tissue_config(const std::string& name, std::uint64_t seed, int cases) {
  const std::string original = test::read_bytes(test::source_dir() / "configs" / "tissue" / name);
  test::TempDir dir("tissue_config_fuzz_" + name);
  const fs::path file = dir / name;
  test::write_bytes(file, original);
  read_tissue_config(core::load_json_file(file), name);  // the seed file itself is valid
  const auto r = test::fuzz_file(original, seed, cases, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    const TissueConfig c = read_tissue_config(core::load_json_file(file), name);
    const Grid& g = c.tissue.grid;
    if (g.nx < 1 || g.ny < 1 || g.nz < 1) throw std::logic_error("read_tissue_config returned an empty grid");
    if (!(c.tissue.dt > 0) || !(c.tissue.duration > 0))
      throw std::logic_error("read_tissue_config accepted dt/duration <= 0");
  });
  test::expect_clean(r, "tissue-config " + name);
}

TEST(TissueConfigReader_fuzz, AphynSlab) { fuzz_tissue_config("aphyn_slab.json", 401, 3000); }

TEST(TissueConfigReader_fuzz, IschaemicSlabWithRegions) {
  fuzz_tissue_config("aphyn_ischaemic_slab.json", 402, 3000);
}

TEST(TissueConfigReader_fuzz, Niederer3d) { fuzz_tissue_config("niederer.json", 403, 2000); }

// The inputs the fuzzer found, as exact errors: a node count that nlohmann wrapped into int
// (-2147483649 -> 2147483647, 4294967297 -> 1) and a size / dx beyond int made the reader allocate the
// regions map for ~5e10 nodes (std::bad_alloc) or overflow the node count to a negative one.
TEST(TissueConfigReader_fuzz, FoundCasesAreCleanErrors) {
  const core::Json slab =
      core::load_json_file(test::source_dir() / "configs/tissue/aphyn_ischaemic_slab.json");
  const auto error = [&](const char* grid) {
    core::Json j = slab;
    j["grid"] = core::Json::parse(grid);
    return test::error_of([&] { read_tissue_config(j, "c.json"); });
  };
  EXPECT_EQ(error(R"({"nodes": [-2147483649, 24], "dx": 1})"),
            "c.json: key 'grid.nodes': node counts must be >= 1");
  EXPECT_EQ(error(R"({"nodes": [2147483647, 24], "dx": 1})"),
            "c.json: key 'grid.nodes': node count 2147483647 exceeds the limit of 100000000");
  EXPECT_EQ(error(R"({"nodes": [4294967297, 24], "dx": 1})"),
            "c.json: key 'grid.nodes': node count 4294967297 exceeds the limit of 100000000");
  EXPECT_EQ(
      error(R"({"nodes": [20000, 20000], "dx": 1})"),
      "c.json: key 'grid.nodes': a grid of 20000 x 20000 x 1 nodes exceeds the limit of 100000000 nodes");
  EXPECT_EQ(error(R"({"size": [2147483647, 7, 3], "dx": 0.5})"),
            "c.json: key 'grid.size': extent 2.14748e+09 mm at spacing 0.5 mm exceeds the limit of 100000000 "
            "nodes");
}

}  // namespace
}  // namespace metaeik::monodomain
