// Fuzzed datasets: a tiny dataset (one 2×2×2-cell box geometry, 2 blob-scar subjects, 3 noisy maps
// each) is generated once; seeded corruptions of its manifest.json and of the geometry .vtu that
// holds every subject's and map's arrays must each end in a one-line error from Dataset::load (or an
// accessor) or a valid dataset whose every array has one value per node.

#include <gtest/gtest.h>

#include "../support/cli.hpp"
#include "../support/fuzz.hpp"
#include "core/config.hpp"
#include "eikonal/dataset.hpp"
#include "eikonal/dataset_generate.hpp"
#include "geometry/structured.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::eikonal {
namespace {

namespace fs = std::filesystem;
using core::Json;

/// Generates the tiny dataset into `dir / "ds"` and returns that directory.
fs::path tiny_dataset(const test::TempDir& dir) {
  geometry::TetMesh box = geometry::box_mesh(2, 2, 2, Eigen::Vector3d(4, 4, 4));
  Eigen::VectorXi surface(box.num_points());
  for (int i = 0; i < box.num_points(); ++i) {
    const double x = box.points(i, 0);
    surface[i] = x == 0 ? geometry::kLvEndo : (x == 4 ? geometry::kRvEndo : geometry::kEpi);
  }
  box.set_point_labels("surface", surface);
  geometry::write_mesh(box, dir / "box.vtu");
  const Json j = {
      {"seed", 5},
      {"geometries",
       Json::array({Json{{"name", "box"}, {"file", (dir / "box.vtu").string()}, {"aha", "none"}}})},
      {"scars",
       {{"kind", "blob"},
        {"blob_count", 2},
        {"blob", {{"bumps", 1}, {"min_radius", 0.5}, {"max_radius", 1.0}}}}},
      {"maps_per_subject", 3},
      {"split", {{"train", 1}, {"val", 1}}},
      {"noise", {{"std_ms", 0.5}}},
      {"solver", {{"threads", 1}}}};
  core::JsonReader r(j, "tiny.json");
  const fs::path ds = dir / "ds";
  generate_dataset(read_dataset_config(r), ds, false);
  return ds;
}

/// Loads the dataset and reads every array through the accessors users call.
void load_and_use(const fs::path& ds_dir) {
  const Dataset ds = Dataset::load(ds_dir);
  if (ds.geometries().empty() || ds.maps().empty())
    throw std::logic_error("Dataset::load returned no geometry or map");
  auto expect_nodes = [&](Eigen::Index n, int g, const char* what) {
    if (n != ds.mesh(g).num_points()) throw std::logic_error(std::string(what) + " has the wrong length");
  };
  for (int g = 0; g < int(ds.geometries().size()); ++g) {
    expect_nodes(ds.observation_mask(g).size(), g, "observation_mask");
    ds.subjects_of(g);
  }
  for (int s = 0; s < int(ds.subjects().size()); ++s) {
    const int g = ds.subjects()[s].geometry;
    expect_nodes(ds.speed(s).size(), g, "speed");
    expect_nodes(ds.scar_mask(s).size(), g, "scar_mask");
    ds.maps_of(s, "train");
  }
  for (int m = 0; m < int(ds.maps().size()); ++m) {
    const int g = ds.geometry_of_map(m);
    expect_nodes(ds.activation(m).size(), g, "activation");
    expect_nodes(ds.observation(m).size(), g, "observation");
    for (const auto& src : ds.maps()[m].sources)
      if (src.node < 0 || src.node >= ds.mesh(g).num_points())
        throw std::logic_error("source node outside the mesh");
  }
}

/// Fuzzes the dataset file `name` (restored to its valid bytes afterwards).
void fuzz_dataset_file(const fs::path& ds, const std::string& name, std::uint64_t seed, int cases,
                       const std::string& label) {
  const fs::path file = ds / name;
  const std::string original = test::read_bytes(file);
  ASSERT_FALSE(original.empty()) << file;
  load_and_use(ds);  // the generated dataset itself is valid
  const auto r = test::fuzz_file(original, seed, cases, ds, [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    load_and_use(ds);
  });
  test::write_bytes(file, original);
  test::expect_clean(r, label);
}

/// The tiny dataset, checked: 1 geometry, 2 subjects, 6 maps, noisy observations. The manifest names
/// the source mesh by its absolute path (in the config and as geometries[0].source), which holds the
/// test's PID; it is replaced by a fixed one so that the fuzzed bytes are the same in every run.
fs::path checked_tiny_dataset(const test::TempDir& dir) {
  const fs::path ds = tiny_dataset(dir);
  std::string manifest = test::read_bytes(ds / "manifest.json");
  const std::string tmp = dir.path().string();
  int replaced = 0;
  for (auto at = manifest.find(tmp); at != std::string::npos; at = manifest.find(tmp, at), ++replaced)
    manifest.replace(at, tmp.size(), "/data/tiny");
  EXPECT_EQ(replaced, 2);
  test::write_bytes(ds / "manifest.json", manifest);
  const Dataset ok = Dataset::load(ds);
  EXPECT_EQ(ok.geometries().size(), 1u);
  EXPECT_EQ(ok.subjects().size(), 2u);
  EXPECT_EQ(ok.maps().size(), 6u);
  EXPECT_TRUE(ok.noise().enabled());
  EXPECT_EQ(ok.geometries()[0].file, "box.vtu");
  return ds;
}

TEST(DatasetLoader_fuzz, Manifest) {
  test::TempDir dir("dataset_fuzz_manifest");
  fuzz_dataset_file(checked_tiny_dataset(dir), "manifest.json", 501, 3000, "dataset-manifest");
}

TEST(DatasetLoader_fuzz, GeometryVtuWithSubjectAndMapArrays) {
  test::TempDir dir("dataset_fuzz_vtu");
  fuzz_dataset_file(checked_tiny_dataset(dir), "box.vtu", 502, 3000, "dataset-geometry-vtu");
}

}  // namespace
}  // namespace metaeik::eikonal
