// Fuzzed dataset-generation configs: seeded corruptions of the shipped configs/dataset/*.json, read
// the way `metaeikonal dataset --config` reads them (load_dataset_config), must each end in a
// one-line error or a valid config — and a valid config must survive to_json → read unchanged.

#include <gtest/gtest.h>

#include "../support/cli.hpp"
#include "../support/fuzz.hpp"
#include "core/config.hpp"
#include "eikonal/dataset_generate.hpp"

namespace metaeik::eikonal {
namespace {

namespace fs = std::filesystem;

/// Fuzzes `original` as `dir/config.json` through load_dataset_config.
void fuzz_dataset_config(const std::string& original, std::uint64_t seed, int cases,
                         const std::string& label) {
  test::TempDir dir("dataset_config_fuzz_" + label);
  const fs::path file = dir / "config.json";
  test::write_bytes(file, original);
  load_dataset_config(file);  // the seed file itself is valid
  const auto r = test::fuzz_file(original, seed, cases, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    const DatasetConfig c = load_dataset_config(file);
    if (c.geometries.empty()) throw std::logic_error("load_dataset_config returned no geometry");
    const core::Json j = to_json(c);
    core::JsonReader again(j, "to_json");
    if (to_json(read_dataset_config(again)) != j)
      throw std::logic_error("to_json does not read back the same config");
  });
  test::expect_clean(r, label);
}

std::string shipped(const std::string& name) {
  return test::read_bytes(test::source_dir() / "configs" / "dataset" / name);
}

TEST(DatasetConfigReader_fuzz, DefaultConfig) {
  fuzz_dataset_config(shipped("default.json"), 301, 3000, "dataset-default");
}

TEST(DatasetConfigReader_fuzz, BlobsConfig) {
  fuzz_dataset_config(shipped("blobs.json"), 302, 1500, "dataset-blobs");
}

// A file geometry with a surface_map: the mesh path made absolute so that it resolves from the
// temporary directory (the reader only checks that the file exists).
TEST(DatasetConfigReader_fuzz, CrtdemoFileGeometry) {
  std::string text = shipped("crtdemo.json");
  const std::string rel = "../../meshes/crtdemo_biv/crtdemo_biv_labeled_v42.vtk";
  const auto at = text.find(rel);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, rel.size(),
               (test::source_dir() / "meshes/crtdemo_biv/crtdemo_biv_labeled_v42.vtk").string());
  fuzz_dataset_config(text, 303, 3000, "dataset-crtdemo");
}

}  // namespace
}  // namespace metaeik::eikonal
