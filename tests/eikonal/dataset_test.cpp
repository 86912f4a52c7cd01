// Synthetic datasets: every stored map equals a fresh FIM solve, scars and origins, counts and
// splits, reproducibility (same seed ⇒ identical bytes, any thread count; other seed ⇒ other
// origins), noise, blob scars, the crtdemo BiV as a file geometry, atomic writes, the loader,
// the CLI, an independent read with VTK's Python reader, and every bad config (exact messages).

#include "eikonal/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "eikonal/dataset_generate.hpp"
#include "eikonal/scar.hpp"
#include "geometry/structured.hpp"
#include "geometry/vtk_io.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::eikonal {
namespace {

using test::error_of;

namespace fs = std::filesystem;
using core::Json;
using test::TempDir;

/// One small BiV (~1000 nodes, one meshing pass), the 5 paper scars, 4 maps per subject split 2/1/1.
Json small_config(std::uint64_t seed = 3) {
  Json j = Json::parse(R"({
    "geometries": [{"name": "small", "generator": {"shape": "biv", "target_nodes": 600, "seed": 2,
                                                     "max_attempts": 1}}],
    "maps_per_subject": 4,
    "split": {"train": 2, "val": 1},
    "solver": {"threads": 2}
  })");
  j["seed"] = seed;
  return j;
}

DatasetConfig read_config(const Json& j, const fs::path& base = {}) {
  core::JsonReader r(j, "config.json");
  return read_dataset_config(r, base);
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The small dataset, generated once for the whole suite.
class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("dataset_suite");
    generate_dataset(read_config(small_config()), dir_->path() / "ds", false);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path dataset_dir() { return dir_->path() / "ds"; }
  /// The suite dataset's mesh file: a valid geometry with surface + aha labels for file tests.
  static fs::path mesh_file() { return dataset_dir() / "small.vtu"; }
  static TempDir* dir_;
};
TempDir* DatasetTest::dir_ = nullptr;

const std::vector<std::vector<int>> kPaperGroups = {
    {1, 2, 7, 8}, {5, 6, 11, 12}, {3, 4, 9, 10}, {13, 14, 15, 16, 17}, {18}};

TEST_F(DatasetTest, CountsAndSplitsMatchTheConfig) {
  const auto ds = Dataset::load(dataset_dir());
  ASSERT_EQ(ds.geometries().size(), 1u);
  ASSERT_EQ(ds.subjects().size(), 5u);
  ASSERT_EQ(ds.maps().size(), 20u);
  EXPECT_EQ(ds.seed(), 3u);
  EXPECT_FALSE(ds.noise().enabled());
  for (int s = 0; s < 5; ++s) {
    EXPECT_EQ(ds.subjects()[s].scar_segments, kPaperGroups[s]);
    EXPECT_EQ(ds.maps_of(s).size(), 4u);
    EXPECT_EQ(ds.maps_of(s, "train").size(), 2u);
    EXPECT_EQ(ds.maps_of(s, "val").size(), 1u);
    EXPECT_EQ(ds.maps_of(s, "test").size(), 1u);
  }
  const auto& mesh = ds.mesh(0);
  EXPECT_EQ(ds.geometries()[0].nodes, mesh.num_points());
  EXPECT_GT(mesh.num_points(), 400);  // one meshing pass: roughly the target
  EXPECT_LT(mesh.num_points(), 1500);
  // Observed = LV + RV endocardium.
  const Eigen::VectorXi surface = mesh.point_labels("surface"), mask = ds.observation_mask(0);
  for (int i = 0; i < mesh.num_points(); ++i)
    EXPECT_EQ(mask[i], surface[i] == geometry::kLvEndo || surface[i] == geometry::kRvEndo ? 1 : 0);
  EXPECT_EQ(ds.geometries()[0].observed_nodes, mask.sum());
}

// The validation maps are carved from the training origins in manifest order: the same origins
// with or without a validation split, disjoint splits, test maps unchanged.
TEST_F(DatasetTest, ValidationSplitIsDisjointAndStableUnderRegeneration) {
  const auto ds = Dataset::load(dataset_dir());
  TempDir tmp("dataset_noval");
  Json j = small_config();
  j["split"] = Json{{"train", 3}, {"val", 0}};
  generate_dataset(read_config(j), tmp / "noval", false);
  const auto noval = Dataset::load(tmp / "noval");
  ASSERT_EQ(noval.maps().size(), ds.maps().size());
  for (int s = 0; s < 5; ++s) {
    const auto maps = ds.maps_of(s);
    ASSERT_EQ(maps.size(), 4u);
    const std::vector<std::string> expected{"train", "train", "val", "test"};
    std::set<int> origins;
    for (int i = 0; i < 4; ++i) {
      const auto& m = ds.maps()[maps[i]];
      EXPECT_EQ(m.split, expected[i]) << "subject " << s << " map " << i;
      EXPECT_EQ(m.sources[0].node, noval.maps()[maps[i]].sources[0].node) << "origin moved";
      EXPECT_EQ(noval.maps()[maps[i]].split, i < 3 ? "train" : "test");
      origins.insert(m.sources[0].node);
    }
    EXPECT_EQ(origins.size(), 4u) << "splits share an origin";
    EXPECT_EQ(ds.activation(maps[3]), noval.activation(maps[3]));
  }
}

TEST_F(DatasetTest, EveryMapEqualsAFreshSolve) {
  const auto ds = Dataset::load(dataset_dir());
  const FimSolver solver(ds.mesh(0), FimOptions{1e-6, 100000, 1});
  for (int m = 0; m < int(ds.maps().size()); ++m) {
    SpeedField speed;
    speed.speed = ds.speed(ds.maps()[m].subject);
    const auto fresh = solver.solve(speed, ds.maps()[m].sources);
    ASSERT_TRUE(fresh.stats.converged);
    const Eigen::VectorXd stored = ds.activation(m);
    EXPECT_LT((stored - fresh.times).cwiseAbs().maxCoeff(), 1e-6) << "map " << m;
    for (const auto& s : ds.maps()[m].sources) EXPECT_EQ(stored[s.node], 0.0);
    // No noise: observations are the truth.
    EXPECT_EQ(ds.maps()[m].obs_array, ds.maps()[m].at_array);
    EXPECT_EQ(ds.observation(m), stored);
  }
}

TEST_F(DatasetTest, ScarNodesCarryTheScarSpeedAndNoOriginLiesInAScar) {
  const auto ds = Dataset::load(dataset_dir());
  const Eigen::VectorXi aha = ds.mesh(0).point_labels("aha");
  for (int s = 0; s < 5; ++s) {
    const std::set<int> group(kPaperGroups[s].begin(), kPaperGroups[s].end());
    const Eigen::VectorXd v = ds.speed(s);
    const Eigen::VectorXi scar = ds.scar_mask(s);
    int scar_nodes = 0;
    for (int i = 0; i < v.size(); ++i) {
      const bool in = group.count(aha[i]) > 0;
      scar_nodes += in;
      EXPECT_EQ(scar[i], in ? 1 : 0);
      EXPECT_EQ(v[i], in ? 0.1 : 0.6) << "subject " << s << " node " << i;
    }
    EXPECT_GT(scar_nodes, 0);
    EXPECT_EQ(ds.subjects()[s].scar_nodes, scar_nodes);
    std::set<int> origins;
    for (int m : ds.maps_of(s))
      for (const auto& src : ds.maps()[m].sources) {
        EXPECT_EQ(group.count(aha[src.node]), 0u)
            << "origin " << src.node << " of map " << m << " lies in the scar";
        EXPECT_TRUE(origins.insert(src.node).second) << "origin used twice";
      }
  }
}

TEST_F(DatasetTest, SameSeedGivesIdenticalFilesWithAnyThreadCountOtherSeedOtherOrigins) {
  TempDir tmp("dataset_repro");
  Json one_thread = small_config();
  one_thread["solver"]["threads"] = 1;
  generate_dataset(read_config(one_thread), tmp / "a", false);
  for (const char* f : {"manifest.json", "small.vtu"}) {
    const std::string original = read_bytes(dataset_dir() / f), again = read_bytes(tmp / "a" / f);
    EXPECT_FALSE(original.empty());
    // The manifest records solver.threads; everything else must match byte for byte.
    if (std::string(f) == "manifest.json") {
      Json a = Json::parse(original), b = Json::parse(again);
      EXPECT_EQ(b["config"]["solver"]["threads"], 1);
      b["config"]["solver"]["threads"] = 2;
      EXPECT_EQ(a, b);
    } else {
      EXPECT_TRUE(original == again) << f << " differs";
    }
  }
  generate_dataset(read_config(small_config()), tmp / "b", false);
  EXPECT_TRUE(read_bytes(dataset_dir() / "manifest.json") == read_bytes(tmp / "b" / "manifest.json"));
  EXPECT_TRUE(read_bytes(dataset_dir() / "small.vtu") == read_bytes(tmp / "b" / "small.vtu"));

  generate_dataset(read_config(small_config(4)), tmp / "c", false);
  const auto a = Dataset::load(dataset_dir()), c = Dataset::load(tmp / "c");
  ASSERT_EQ(a.maps().size(), c.maps().size());
  EXPECT_EQ(a.mesh(0).points, c.mesh(0).points);  // the generator seed is explicit: same geometry
  int same = 0;
  for (std::size_t m = 0; m < a.maps().size(); ++m)
    same += a.maps()[m].sources[0].node == c.maps()[m].sources[0].node;
  EXPECT_LT(same, 3);
}

TEST_F(DatasetTest, NoiseAndBlobScarsWithSmoothBorder) {
  TempDir tmp("dataset_noise");
  Json j = Json::parse(R"({
    "seed": 9,
    "scars": {"kind": "blob", "blob_count": 3, "border_width": 2.0, "blob": {"min_radius": 4, "max_radius": 6}},
    "maps_per_subject": 6, "split": {"train": 3, "val": 0, "test": 3},
    "noise": {"std_ms": 2.0}
  })");
  j["geometries"] = Json::array({Json{{"name", "g"}, {"file", mesh_file().string()}}});
  generate_dataset(read_config(j), tmp / "n", false);
  const auto ds = Dataset::load(tmp / "n");
  ASSERT_EQ(ds.subjects().size(), 3u);
  ASSERT_EQ(ds.maps().size(), 18u);
  EXPECT_EQ(ds.noise().std_ms, 2.0);
  const Eigen::VectorXi mask = ds.observation_mask(0);
  double sum = 0, sum2 = 0;
  int n = 0;
  for (int m = 0; m < 18; ++m) {
    ASSERT_NE(ds.maps()[m].obs_array, ds.maps()[m].at_array);
    const Eigen::VectorXd d = ds.observation(m) - ds.activation(m);
    for (int i = 0; i < d.size(); ++i) {
      if (mask[i]) {
        sum += d[i], sum2 += d[i] * d[i], ++n;
      } else {
        EXPECT_EQ(d[i], 0.0);
      }
    }
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(sd, 2.0, 0.1);
  for (int s = 0; s < 3; ++s) {
    const Eigen::VectorXd v = ds.speed(s);
    const Eigen::VectorXi scar = ds.scar_mask(s);
    EXPECT_GT(scar.sum(), 0);
    EXPECT_LT(scar.sum(), v.size() / 2);
    int border = 0;
    for (int i = 0; i < v.size(); ++i) {
      if (scar[i]) EXPECT_EQ(v[i], 0.1);
      EXPECT_GE(v[i], 0.1);
      EXPECT_LE(v[i], 0.6);
      border += v[i] > 0.1 && v[i] < 0.6;
    }
    EXPECT_GT(border, 0) << "smooth border expected";
    for (int m : ds.maps_of(s))
      EXPECT_EQ(v[ds.maps()[m].sources[0].node], 0.6) << "origin in scar or border zone";
  }
}

TEST_F(DatasetTest, NoiseAsPercentOfRange) {
  TempDir tmp("dataset_percent");
  Json j =
      Json::parse(R"({"scars": {"aha_groups": [[18]]}, "maps_per_subject": 3, "split": {"train": 2, "val": 0},
                           "noise": {"percent_of_range": 5}})");
  j["geometries"] = Json::array({Json{{"file", mesh_file().string()}}});
  generate_dataset(read_config(j), tmp / "p", false);
  const auto ds = Dataset::load(tmp / "p");
  EXPECT_EQ(ds.geometries()[0].name, "geom_0");
  const Eigen::VectorXi mask = ds.observation_mask(0);
  for (int m = 0; m < 3; ++m) {
    const Eigen::VectorXd t = ds.activation(m), d = ds.observation(m) - t;
    double lo = 1e300, hi = -1e300, sum2 = 0;
    for (int i = 0; i < t.size(); ++i)
      if (mask[i]) lo = std::min(lo, t[i]), hi = std::max(hi, t[i]), sum2 += d[i] * d[i];
    EXPECT_NEAR(std::sqrt(sum2 / mask.sum()), 0.05 * (hi - lo), 0.01 * (hi - lo)) << "map " << m;
  }
}

TEST_F(DatasetTest, SparseObservationsEndocardialOriginsAndSeveralSources) {
  TempDir tmp("dataset_sparse");
  Json j = Json::parse(R"({"scars": {"aha_groups": [[13, 14, 15, 16, 17]]}, "maps_per_subject": 4,
                           "split": {"train": 2, "val": 0}, "sources_per_map": 2, "origins": "endocardial",
                           "observation": {"fraction": 0.25}})");
  j["geometries"] = Json::array({Json{{"file", mesh_file().string()}}});
  generate_dataset(read_config(j), tmp / "s", false);
  const auto ds = Dataset::load(tmp / "s");
  const auto& mesh = ds.mesh(0);
  const Eigen::VectorXi surface = mesh.point_labels("surface"), mask = ds.observation_mask(0);
  int endo = 0;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const bool is_endo = surface[i] == 1 || surface[i] == 2;
    endo += is_endo;
    if (mask[i]) EXPECT_TRUE(is_endo) << "observed node " << i << " is not endocardial";
  }
  EXPECT_EQ(mask.sum(), std::lround(0.25 * endo));
  const FimSolver solver(mesh, FimOptions{1e-6, 100000, 1});
  std::set<int> used;
  for (int m = 0; m < 4; ++m) {
    const auto& sources = ds.maps()[m].sources;
    ASSERT_EQ(sources.size(), 2u);
    const Eigen::VectorXd t = ds.activation(m);
    for (const auto& src : sources) {
      EXPECT_TRUE(surface[src.node] == 1 || surface[src.node] == 2);
      EXPECT_EQ(ds.speed(0)[src.node], 0.6);
      EXPECT_EQ(t[src.node], 0.0);
      EXPECT_TRUE(used.insert(src.node).second);
    }
    SpeedField speed;
    speed.speed = ds.speed(0);
    EXPECT_LT((t - solver.solve(speed, sources).times).cwiseAbs().maxCoeff(), 1e-6);
  }
}

TEST_F(DatasetTest, AtomicWritesForceAndInterrupt) {
  TempDir tmp("dataset_atomic");
  Json j = Json::parse(
      R"({"scars": {"aha_groups": [[18]]}, "maps_per_subject": 1, "split": {"train": 1, "val": 0}})");
  j["geometries"] = Json::array({Json{{"file", mesh_file().string()}}});
  const auto config = read_config(j);
  const fs::path out = tmp / "out";
  fs::create_directories(out);
  std::ofstream(out / "keep.txt") << "old";
  EXPECT_EQ(error_of([&] { generate_dataset(config, out, false); }),
            out.string() + ": already exists (use --force to overwrite)");
  EXPECT_TRUE(fs::exists(out / "keep.txt"));

  std::atomic<bool> stop{true};
  EXPECT_EQ(error_of([&] { generate_dataset(config, out, true, &stop); }), out.string() + ": interrupted");
  EXPECT_TRUE(fs::exists(out / "keep.txt")) << "an interrupted run must not touch the existing dataset";
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename(), "out") << "left behind: " << e.path();

  generate_dataset(config, out, true);
  EXPECT_FALSE(fs::exists(out / "keep.txt"));
  EXPECT_EQ(Dataset::load(out).maps().size(), 1u);
}

TEST(Dataset, CrtdemoBivAsAFileGeometry) {
  TempDir tmp("dataset_crtdemo");
  Json j = core::load_json_file(test::source_dir() / "configs/dataset/crtdemo.json");
  j["maps_per_subject"] = 2;
  j["split"] = Json{{"train", 1}, {"val", 0}, {"test", 1}};
  core::JsonReader r(j, "crtdemo.json");
  generate_dataset(read_dataset_config(r, test::source_dir() / "configs/dataset"), tmp / "c", false);
  const auto ds = Dataset::load(tmp / "c");
  ASSERT_EQ(ds.subjects().size(), 5u);
  const auto& mesh = ds.mesh(0);
  EXPECT_EQ(mesh.num_points(), 4569);
  EXPECT_EQ(ds.geometries()[0].observed_nodes, 441 + 817);  // LV + RV endocardial node sets
  // AHA computed from the shape: every segment 1–18 is present.
  std::set<int> segments;
  for (int a : mesh.point_labels("aha")) segments.insert(a);
  for (int a = 1; a <= 18; ++a) EXPECT_EQ(segments.count(a), 1u) << "segment " << a;
  // Blob scars on the same file mesh: it still carries the AHA labels the segment baseline needs.
  j["scars"] = Json{{"kind", "blob"}, {"blob_count", 1}};
  core::JsonReader rb(j, "crtdemo.json");
  generate_dataset(read_dataset_config(rb, test::source_dir() / "configs/dataset"), tmp / "b", false);
  EXPECT_EQ(Dataset::load(tmp / "b").mesh(0).point_labels("aha"), mesh.point_labels("aha"));
  const FimSolver solver(mesh, FimOptions{1e-6, 100000, 1});
  for (int m = 0; m < int(ds.maps().size()); ++m) {
    SpeedField speed;
    speed.speed = ds.speed(ds.maps()[m].subject);
    EXPECT_LT((ds.activation(m) - solver.solve(speed, ds.maps()[m].sources).times).cwiseAbs().maxCoeff(),
              1e-6);
  }
}

// The built-in default end to end (the slowest test here, a few seconds): the paper's counts.
TEST(Dataset, BuiltInDefaultIsThePaperSetup) {
  TempDir tmp("dataset_default");
  generate_dataset(default_dataset_config(), tmp / "d", false);
  const auto ds = Dataset::load(tmp / "d");
  ASSERT_EQ(ds.geometries().size(), 4u);
  ASSERT_EQ(ds.subjects().size(), 20u);
  ASSERT_EQ(ds.maps().size(), 400u);
  int train = 0, val = 0, test = 0;
  for (const auto& m : ds.maps())
    train += m.split == "train", val += m.split == "val", test += m.split == "test";
  EXPECT_EQ(train, 160);  // the paper's 200 training origins, of which 2 per subject validate
  EXPECT_EQ(val, 40);
  EXPECT_EQ(test, 200);
  std::set<int> node_counts;
  for (int g = 0; g < 4; ++g) {
    EXPECT_NEAR(ds.geometries()[g].nodes, 2000, 200);
    node_counts.insert(ds.geometries()[g].nodes);
    const Eigen::VectorXi aha = ds.mesh(g).point_labels("aha");
    const FimSolver solver(ds.mesh(g), FimOptions{1e-6, 100000, 1});
    for (int s : ds.subjects_of(g)) {
      const auto& groups = default_dataset_config().scars.aha_groups;
      const std::set<int> group(groups[s % 5].begin(), groups[s % 5].end());
      const Eigen::VectorXd v = ds.speed(s);
      for (int i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], group.count(aha[i]) ? 0.1 : 0.6);
      const auto maps = ds.maps_of(s);
      ASSERT_EQ(maps.size(), 20u);
      for (int m : maps) EXPECT_EQ(group.count(aha[ds.maps()[m].sources[0].node]), 0u);
      // One fresh solve per subject.
      SpeedField speed;
      speed.speed = v;
      EXPECT_LT((ds.activation(maps[7]) - solver.solve(speed, ds.maps()[maps[7]].sources).times)
                    .cwiseAbs()
                    .maxCoeff(),
                1e-6);
    }
  }
  EXPECT_EQ(node_counts.size(), 4u) << "four different geometries";
}

TEST_F(DatasetTest, ConfigRoundTripAndShippedConfigs) {
  const DatasetConfig def = default_dataset_config();
  EXPECT_EQ(def.geometries.size(), 4u);
  EXPECT_EQ(def.scars.aha_groups, kPaperGroups);
  EXPECT_EQ(def.healthy_speed, 0.6);
  EXPECT_EQ(def.scar_speed, 0.1);
  EXPECT_EQ(def.maps_per_subject, 20);
  EXPECT_EQ(def.train, 8);
  EXPECT_EQ(def.val, 2);
  std::set<double> radii;
  for (const auto& g : def.geometries) {
    EXPECT_EQ(g.generator.shape, "biv");
    EXPECT_EQ(g.generator.target_nodes, 2000);
    radii.insert(g.generator.lv_epi_long_radius);
  }
  EXPECT_EQ(radii.size(), 4u) << "the four geometries must differ in shape";
  // configs/dataset/default.json is the built-in default written out.
  const Json shipped = core::load_json_file(test::source_dir() / "configs/dataset/default.json");
  EXPECT_EQ(shipped, to_json(def));
  EXPECT_EQ(to_json(read_config(to_json(def))), to_json(def));
  const auto blobs = load_dataset_config(test::source_dir() / "configs/dataset/blobs.json");
  EXPECT_EQ(blobs.scars.kind, "blob");
  EXPECT_EQ(blobs.geometries.size(), 4u);  // geometries absent: the default four
  const auto crt = load_dataset_config(test::source_dir() / "configs/dataset/crtdemo.json");
  ASSERT_EQ(crt.geometries.size(), 1u);
  EXPECT_TRUE(fs::exists(crt.geometries[0].file));
}

TEST_F(DatasetTest, RelativeMeshPathsAreRelativeToTheConfigFile) {
  TempDir tmp("dataset_relative");
  fs::create_directories(tmp / "cfg" / "meshes");
  fs::copy_file(mesh_file(), tmp / "cfg" / "meshes" / "m.vtu");
  core::save_json_file(tmp / "cfg" / "c.json", Json::parse(R"({"geometries": [{"file": "meshes/m.vtu"}]})"));
  const auto config = load_dataset_config(tmp / "cfg" / "c.json");
  EXPECT_EQ(config.geometries[0].file, (tmp / "cfg" / "meshes" / "m.vtu").lexically_normal());
}

TEST_F(DatasetTest, BadConfigsGiveOneLineErrorsNamingTheKey) {
  const auto err = [](const std::string& text) { return error_of([&] { read_config(Json::parse(text)); }); };
  EXPECT_EQ(err(R"({"seeed": 1})"), "config.json: key 'seeed': unknown key");
  EXPECT_EQ(err(R"({"noise": {"std": 1}})"), "config.json: key 'noise.std': unknown key");
  EXPECT_EQ(err(R"({"healthy_speed": -0.6})"),
            "config.json: key 'healthy_speed': must be positive, got -0.6");
  EXPECT_EQ(err(R"({"scar_speed": 0})"), "config.json: key 'scar_speed': must be positive, got 0");
  EXPECT_EQ(err(R"({"maps_per_subject": 0})"),
            "config.json: key 'maps_per_subject': value 0 is out of range [1, 1e+06]");
  EXPECT_EQ(err(R"({"split": {"train": 15, "val": 10}})"),
            "config.json: key 'split.val': train 15 + val 10 exceeds maps_per_subject 20");
  EXPECT_EQ(err(R"({"split": {"train": 10, "test": 5}})"),
            "config.json: key 'split.test': train 10 + val 2 + test 5 must equal maps_per_subject 20");
  EXPECT_EQ(err(R"({"noise": {"std_ms": -1}})"), "config.json: key 'noise.std_ms': must be >= 0, got -1");
  EXPECT_EQ(err(R"({"noise": {"std_ms": 1, "percent_of_range": 5}})"),
            "config.json: key 'noise.percent_of_range': give either std_ms or percent_of_range, not both");
  EXPECT_EQ(err(R"({"scars": {"kind": "stripe"}})"),
            "config.json: key 'scars.kind': unknown value \"stripe\" (expected one of \"aha\", \"blob\")");
  EXPECT_EQ(err(R"({"scars": {"aha_groups": [[1, 19]]}})"),
            "config.json: key 'scars.aha_groups[0]': segment 19 is not an AHA segment 1-18");
  EXPECT_EQ(err(R"({"observation": {"fraction": 0}})"),
            "config.json: key 'observation.fraction': must be in (0, 1], got 0");
  EXPECT_EQ(err(R"({"observation": {"surface_labels": [1, 5]}})"),
            "config.json: key 'observation.surface_labels': label 5 is not a surface label 0-4");
  EXPECT_EQ(err(R"({"origins": "epi"})"),
            "config.json: key 'origins': unknown value \"epi\" (expected one of \"any\", \"endocardial\")");
  EXPECT_EQ(err(R"({"geometries": [{"generator": {"shape": "biv"}}, {"file": "meshes/nope.vtu"}]})"),
            "config.json: key 'geometries[1].file': meshes/nope.vtu does not exist");
  EXPECT_EQ(err(R"({"geometries": [{"generator": {"shape": "biv", "colour": 1}}]})"),
            "config.json: key 'geometries[0].generator.colour': unknown key");
  EXPECT_EQ(err(R"({"geometries": [{"name": "a"}]})"),
            "config.json: key 'geometries[0]': give exactly one of 'generator' and 'file'");
  EXPECT_EQ(err(R"({"geometries": []})"),
            "config.json: key 'geometries': expected a non-empty array, got an array");
  EXPECT_EQ(error_of([&] {
              Json j =
                  Json::parse(R"({"geometries": [{"name": "a", "file": "x"}, {"name": "a", "file": "x"}]})");
              j["geometries"][0]["file"] = j["geometries"][1]["file"] = mesh_file().string();
              read_config(j);
            }),
            "config.json: key 'geometries[1].name': \"a\" is used twice");
  EXPECT_EQ(error_of([] { load_dataset_config("no/such/config.json"); }),
            "no/such/config.json: config file does not exist");
}

TEST_F(DatasetTest, MoreOriginsThanEligibleNodesIsRefused) {
  TempDir tmp("dataset_origins");
  const auto mesh = geometry::read_mesh(mesh_file());
  const Eigen::VectorXi scar = aha_scar_mask(mesh, {1, 2, 7, 8});
  const int outside = int(scar.size() - scar.sum());
  Json j = Json::parse(R"({"maps_per_subject": 5000})");
  j["geometries"] = Json::array({Json{{"file", mesh_file().string()}}});
  EXPECT_EQ(error_of([&] { generate_dataset(read_config(j), tmp / "x", false, nullptr, "config.json"); }),
            "config.json: key 'maps_per_subject': 5000 origins requested but only " +
                std::to_string(outside) + " nodes lie outside the scar of subject 0");
  EXPECT_FALSE(fs::exists(tmp / "x"));
  // Endocardial origins only: fewer eligible nodes.
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  int endo_outside = 0;
  for (int i = 0; i < mesh.num_points(); ++i)
    endo_outside += !scar[i] && (surface[i] == 1 || surface[i] == 2);
  j["maps_per_subject"] = endo_outside + 1;
  j["origins"] = "endocardial";
  EXPECT_EQ(error_of([&] { generate_dataset(read_config(j), tmp / "x", false, nullptr, "config.json"); }),
            "config.json: key 'maps_per_subject': " + std::to_string(endo_outside + 1) +
                " origins requested but only " + std::to_string(endo_outside) +
                " nodes lie outside the scar of subject 0 on the endocardium");
}

TEST_F(DatasetTest, FileGeometryLabelErrors) {
  TempDir tmp("dataset_labels");
  // A box has no ventricle labels: naming a missing label array, and an AHA scar on a mesh without
  // `aha` and aha = "none".
  auto box = geometry::box_mesh(4, 4, 4, Eigen::Vector3d(10, 10, 10));
  geometry::write_mesh(box, tmp / "box.vtu");
  Json j = Json::parse(R"({"geometries": [{"file": "box.vtu", "surface_array": "label"}]})");
  EXPECT_EQ(error_of([&] {
              generate_dataset(read_config(j, tmp.path()), tmp / "x", false, nullptr, "config.json");
            }),
            "config.json: key 'geometries[0].surface_array': " + (tmp / "box.vtu").string() +
                " has no point array 'label'");
  Eigen::VectorXi label = Eigen::VectorXi::Zero(box.num_points());
  label[0] = 7;
  box.set_point_labels("label", label);
  geometry::write_mesh(box, tmp / "box.vtu");
  EXPECT_EQ(error_of([&] {
              generate_dataset(read_config(j, tmp.path()), tmp / "x", false, nullptr, "config.json");
            }),
            "config.json: key 'geometries[0].surface_map': label 7 of node 0 is not a surface label 0-4 "
            "(map it with surface_map)");
  j["geometries"][0]["surface_map"] = Json{{"7", 1}};
  j["geometries"][0]["aha"] = "none";
  EXPECT_EQ(error_of([&] {
              generate_dataset(read_config(j, tmp.path()), tmp / "x", false, nullptr, "config.json");
            }),
            "config.json: key 'geometries[0].aha': " + (tmp / "box.vtu").string() +
                " has no 'aha' array; use \"shape\" or blob scars");
  // An AHA group with no node in the geometry.
  Eigen::VectorXi aha = Eigen::VectorXi::Zero(box.num_points());
  aha.head(box.num_points() / 2).setConstant(3);
  box.set_point_labels("aha", aha);
  geometry::write_mesh(box, tmp / "box.vtu");
  j["scars"] = Json{{"aha_groups", Json::array({Json::array({3}), Json::array({18})})}};
  j["maps_per_subject"] = 2;
  j["split"] = Json{{"train", 1}, {"val", 0}};
  EXPECT_EQ(error_of([&] {
              generate_dataset(read_config(j, tmp.path()), tmp / "x", false, nullptr, "config.json");
            }),
            "config.json: key 'scars.aha_groups[1]': no node of geometry 'geom_0' lies in AHA segments 18");
  EXPECT_FALSE(fs::exists(tmp / "x"));
  j["geometries"][0]["surface_map"] = Json{{"7", 9}};
  EXPECT_EQ(error_of([&] { read_config(j, tmp.path()); }),
            "config.json: key 'geometries[0].surface_map.7': value 9 is out of range [0, 4]");
}

TEST_F(DatasetTest, LoaderRejectsBrokenDatasets) {
  TempDir tmp("dataset_broken");
  EXPECT_EQ(error_of([&] { Dataset::load(tmp / "none"); }),
            (tmp / "none").string() + ": dataset directory does not exist");
  fs::copy(dataset_dir(), tmp / "d");
  Json m = core::load_json_file(tmp / "d" / "manifest.json");
  m["maps"][3]["at_array"] = "at_9999";
  core::save_json_file(tmp / "d" / "manifest.json", m);
  EXPECT_EQ(error_of([&] { Dataset::load(tmp / "d"); }),
            (tmp / "d" / "small.vtu").string() +
                ": point array 'at_9999' (activation times) listed in manifest.json is missing");
  m["format"] = "something";
  core::save_json_file(tmp / "d" / "manifest.json", m);
  EXPECT_EQ(error_of([&] { Dataset::load(tmp / "d"); }),
            (tmp / "d" / "manifest.json").string() +
                ": key 'format': expected \"metaeikonal-dataset\", got \"something\"");
}

TEST_F(DatasetTest, CliGenerateInfoAndErrors) {
  TempDir tmp("dataset_cli");
  Json j = Json::parse(R"({"scars": {"aha_groups": [[18], [13, 14, 15, 16, 17]]}, "maps_per_subject": 2,
                           "split": {"train": 1, "val": 0}})");
  j["geometries"] = Json::array({Json{{"name", "m"}, {"file", mesh_file().string()}}});
  core::save_json_file(tmp / "c.json", j);
  const std::string out = (tmp / "out").string();
  auto r = test::run_cli("-q dataset generate -c " + (tmp / "c.json").string() + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("-q dataset generate -c " + (tmp / "c.json").string() + " -o " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + out + ": already exists (use --force to overwrite)\n");
  r = test::run_cli("-q dataset generate -c " + (tmp / "c.json").string() + " -o " + out +
                    " --force --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("dataset info --json " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json info = Json::parse(r.output);
  EXPECT_EQ(info["seed"], 5);
  EXPECT_EQ(info["maps"]["total"], 4);
  EXPECT_EQ(info["maps"]["train"], 2);
  EXPECT_EQ(info["maps"]["test"], 2);
  EXPECT_EQ(info["subjects"][1]["scar"], "aha:13,14,15,16,17");
  r = test::run_cli("dataset info " + out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("maps: 4 (train 2, val 0, test 2)"), std::string::npos) << r.output;

  core::save_json_file(tmp / "bad.json", Json::parse(R"({"scar_speed": -0.1})"));
  r = test::run_cli("-q dataset generate -c " + (tmp / "bad.json").string() + " -o " + (tmp / "o2").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output,
            "error: " + (tmp / "bad.json").string() + ": key 'scar_speed': must be positive, got -0.1\n");
  EXPECT_FALSE(fs::exists(tmp / "o2"));
  r = test::run_cli("dataset config");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(Json::parse(r.output), to_json(default_dataset_config()));
}

// An independent reader: Python's json + VTK's own XML reader follow the manifest without our
// code and find every array with one value per node (skipped when python3-vtk9 is missing).
TEST_F(DatasetTest, VtkPythonReaderFollowsTheManifest) {
  if (std::system("/usr/bin/python3 -c 'import vtk' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-vtk9 missing";
  TempDir tmp("dataset_py");
  std::ofstream(tmp / "check.py") << R"(
import json, sys, os, vtk
d = sys.argv[1]
m = json.load(open(os.path.join(d, 'manifest.json')))
assert m['format'] == 'metaeikonal-dataset' and m['version'] == 1
grids = []
for g in m['geometries']:
    r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(os.path.join(d, g['file'])); r.Update()
    grid = r.GetOutput(); assert grid.GetNumberOfPoints() == g['nodes'] and grid.GetNumberOfCells() == g['tets']
    grids.append(grid.GetPointData())
def arr(geom, name):
    a = grids[geom].GetArray(name); assert a is not None, name
    assert a.GetNumberOfTuples() == m['geometries'][geom]['nodes']; return a
for s in m['subjects']:
    v = arr(s['geometry'], s['speed_array']); arr(s['geometry'], s['scar_array'])
    assert v.GetRange() == (s['scar_speed'], s['healthy_speed']), v.GetRange()
for mp in m['maps']:
    g = m['subjects'][mp['subject']]['geometry']
    a = arr(g, mp['at_array']); arr(g, mp['obs_array']); arr(g, m['observation_mask'])
    for s in mp['sources']: assert a.GetValue(s['node']) == s['time']
print('OK', len(m['maps']))
)";
  test::CliResult r;
  {
    const std::string cmd =
        "/usr/bin/python3 " + (tmp / "check.py").string() + " " + dataset_dir().string() + " 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
    r.exit_code = WEXITSTATUS(::pclose(pipe));
  }
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "OK 20\n");
}

}  // namespace
}  // namespace metaeik::eikonal
