#include "geometry/generate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "geometry/labels.hpp"
#include "geometry/surface.hpp"
#include "geometry/vtk_io.hpp"
#include "tests/support/errors.hpp"

namespace metaeik::geometry {
namespace {

using test::error_of;

constexpr int kTarget = 1500;

GeneratorOptions small(const std::string& shape) {
  GeneratorOptions o;
  o.shape = shape;
  o.target_nodes = kTarget;
  return o;
}

// Generated once per test program; the meshes are reused by several tests.
const TetMesh& lv_mesh() {
  static const TetMesh mesh = generate_ventricle(small("lv"));
  return mesh;
}
const TetMesh& biv_mesh() {
  static const TetMesh mesh = generate_ventricle(small("biv"));
  return mesh;
}

// Volume below z = h of the spheroid x²/a² + y²/a² + z²/c² ≤ 1 by Simpson's rule on the
// cross-section area π a² (1 − z²/c²) (a quadratic in z, so Simpson is exact).
double cap_volume(double a, double c, double h) {
  auto area = [&](double z) { return M_PI * a * a * (1 - z * z / (c * c)); };
  return (h + c) / 6 * (area(-c) + 4 * area(0.5 * (h - c)) + area(h));
}

TEST(GeneratorOptions, AnalyticVolumesOfTheLandBenchmark) {
  const GeneratorOptions o;
  EXPECT_NEAR(cap_volume(7, 17, 5), 2492.1, 0.05);
  EXPECT_NEAR(cap_volume(10, 20, 5) - cap_volume(7, 17, 5), 3234.7, 0.05);
  EXPECT_NEAR(analytic_lv_cavity_volume(o), cap_volume(7, 17, 5), 1e-9);
  EXPECT_NEAR(analytic_lv_wall_volume(o), cap_volume(10, 20, 5) - cap_volume(7, 17, 5), 1e-9);
}

TEST(GeneratorOptions, BadOptionsGiveExactMessages) {
  GeneratorOptions o;
  o.lv_endo_short_radius = -1;
  EXPECT_EQ(error_of([&] { check_generator_options(o); }),
            "generator option 'lv_endo_short_radius' must be positive, got -1");
  o = GeneratorOptions();
  o.lv_endo_short_radius = 12;
  EXPECT_EQ(error_of([&] { generate_ventricle(o); }),
            "generator option 'lv_endo_short_radius' (12) must be smaller than 'lv_epi_short_radius' (10)");
  o = GeneratorOptions();
  o.target_nodes = 50;
  EXPECT_EQ(error_of([&] { generate_ventricle(o); }),
            "generator option 'target_nodes' must be at least 100, got 50");
  o = GeneratorOptions();
  o.shape = "rv";
  EXPECT_EQ(error_of([&] { check_generator_options(o); }),
            "generator option 'shape' must be \"lv\" or \"biv\", got \"rv\"");
  o = GeneratorOptions();
  o.base_z = 18;
  EXPECT_EQ(error_of([&] { check_generator_options(o); }),
            "generator option 'base_z' (18) must lie strictly between -lv_endo_long_radius and "
            "lv_endo_long_radius (17)");
  o = small("biv");
  o.rv_wall_thickness = 0;
  EXPECT_EQ(error_of([&] { check_generator_options(o); }),
            "generator option 'rv_wall_thickness' must be positive, got 0");
  o = small("biv");
  o.rv_endo_radius_x = 5;
  EXPECT_EQ(
      error_of([&] { check_generator_options(o); }),
      "generator option 'rv_endo_radius_x' is too small for an RV cavity: rv_center_x + rv_endo_radius_x (9) "
      "must exceed the LV epicardium x-extent (10) by more than 0.5 mm");
  o = small("lv");
  o.rv_endo_radius_x = -5;  // RV options are ignored for the LV
  EXPECT_NO_THROW(check_generator_options(o));
}

TEST(GeneratorOptions, ReadFromJsonWithTheFieldNames) {
  const core::Json json = core::Json::parse(
      R"({"shape": "biv", "target_nodes": 800, "seed": 7, "rv_wall_thickness": 2.5, "lv_epi_short_radius": 11})");
  core::JsonReader r(json, "subject.json");
  GeneratorOptions o;
  read_generator_options(r, o);
  EXPECT_NO_THROW(r.finish());
  EXPECT_EQ(o.shape, "biv");
  EXPECT_EQ(o.target_nodes, 800);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.rv_wall_thickness, 2.5);
  EXPECT_EQ(o.lv_epi_short_radius, 11);
  EXPECT_EQ(o.lv_endo_short_radius, 7);  // default kept

  const core::Json bad = core::Json::parse(R"({"lv_epi_long_radius": 15})");
  core::JsonReader rb(bad, "subject.json");
  EXPECT_EQ(error_of([&] { read_generator_options(rb, o); }),
            "subject.json: key 'lv_endo_long_radius': (17) must be smaller than 'lv_epi_long_radius' (15)");
  const core::Json wrong_type = core::Json::parse(R"({"target_nodes": "many"})");
  core::JsonReader rt(wrong_type, "subject.json");
  GeneratorOptions o2;
  EXPECT_EQ(error_of([&] { read_generator_options(rt, o2); }),
            "subject.json: key 'target_nodes': expected an integer, got a string");
}

TEST(GenerateVentricle, LvMatchesTheAnalyticShell) {
  const TetMesh& mesh = lv_mesh();
  const GeneratorOptions o = small("lv");
  EXPECT_NEAR(mesh.num_points(), kTarget, 0.15 * kTarget);

  const Eigen::VectorXd vol = tet_volumes(mesh.points, mesh.tets);
  EXPECT_GT(vol.minCoeff(), 0) << "every tet positively oriented";
  const double exact = cap_volume(10, 20, 5) - cap_volume(7, 17, 5);
  EXPECT_NEAR(vol.sum() / exact, 1.0, 0.03) << "volume " << vol.sum() << " vs " << exact;
  EXPECT_GT(tet_quality(mesh.points, mesh.tets).minCoeff(), 0.05);

  // Nodes lie in the closed shell (up to the mesher's surface tolerance).
  const detail::VentricleShape shape(o);
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    EXPECT_LE(p.z(), 5 + 1e-4);
    EXPECT_LE(shape.lv_epi.value(p), 1e-3);
    EXPECT_GE(shape.lv_endo.value(p), -1e-3);
  }
}

TEST(GenerateVentricle, LvSurfaceLabelsLieOnTheirSurfaces) {
  const TetMesh& mesh = lv_mesh();
  const detail::VentricleShape shape(small("lv"));
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  const std::vector<int> boundary = boundary_nodes(mesh.tets);
  std::vector<char> on_boundary(mesh.num_points(), 0);
  for (int i : boundary) on_boundary[i] = 1;
  std::set<int> seen;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    const int l = surface[i];
    seen.insert(l);
    if (!on_boundary[i]) {
      EXPECT_EQ(l, kInterior) << "interior node " << i;
      continue;
    }
    ASSERT_TRUE(l == kLvEndo || l == kEpi || l == kBase) << "boundary node " << i << " label " << l;
    if (l == kLvEndo) {
      EXPECT_LT(shape.lv_endo.distance(p), 0.01);
    } else if (l == kEpi) {
      EXPECT_LT(shape.lv_epi.distance(p), 0.01);
    } else {
      EXPECT_NEAR(p.z(), 5, 1e-4);  // the mesher's relative error bound
    }
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1, 3, 4}));
}

TEST(GenerateVentricle, LvHasAllSeventeenAhaSegments) {
  const Eigen::VectorXi aha = lv_mesh().point_labels("aha");
  std::set<int> seen(aha.data(), aha.data() + aha.size());
  std::set<int> expected;
  for (int s = 1; s <= 17; ++s) expected.insert(s);
  EXPECT_EQ(seen, expected);
  // Segment 17 is the apical cap below the endocardial apex z = −17.
  for (int i = 0; i < aha.size(); ++i)
    EXPECT_EQ(aha[i] == 17, lv_mesh().points(i, 2) < -17.0) << "node " << i;
}

TEST(GenerateVentricle, BivLabelsAndSeptum) {
  const TetMesh& mesh = biv_mesh();
  const GeneratorOptions o = small("biv");
  EXPECT_NEAR(mesh.num_points(), kTarget, 0.15 * kTarget);
  EXPECT_GT(tet_volumes(mesh.points, mesh.tets).minCoeff(), 0);
  const Eigen::VectorXi surface = mesh.point_labels("surface"), aha = mesh.point_labels("aha");
  for (int i : boundary_nodes(mesh.tets)) EXPECT_GE(surface[i], 1) << "boundary node " << i << " unlabelled";
  std::set<int> s(surface.data(), surface.data() + surface.size()), a(aha.data(), aha.data() + aha.size());
  EXPECT_EQ(s, (std::set<int>{0, 1, 2, 3, 4}));
  for (int k = 1; k <= 18; ++k) EXPECT_TRUE(a.count(k)) << "AHA segment " << k << " missing";

  // The septum (3 mm of LV wall) separates the cavities: LV- and RV-endo nodes are ≥ 1.5 mm apart.
  double closest = INFINITY;
  for (int i = 0; i < mesh.num_points(); ++i)
    if (surface[i] == kLvEndo)
      for (int j = 0; j < mesh.num_points(); ++j)
        if (surface[j] == kRvEndo)
          closest = std::min(closest, (mesh.points.row(i) - mesh.points.row(j)).norm());
  EXPECT_GT(closest, 1.5);

  // RV free wall (18) = tissue outside the LV epicardium; the septum (RV side included) is LV.
  const detail::VentricleShape shape(o);
  int rv_endo_free = 0, rv_endo_septal = 0;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    const bool outside_lv = shape.lv_epi.value(p) > 0 && shape.lv_epi.distance(p) > 0.01;
    EXPECT_EQ(aha[i] == 18, outside_lv) << "node " << i;
    if (surface[i] == kRvEndo) ++(outside_lv ? rv_endo_free : rv_endo_septal);
  }
  EXPECT_GT(rv_endo_free, 100);
  EXPECT_GT(rv_endo_septal, 50);

  // The label-only rule (used for clinical meshes) mostly agrees with the geometric one; it
  // differs at the RV insertions and in the solid tissue below the RV cavity's apex.
  const std::vector<bool> generic = rv_free_wall_nodes(mesh), exact = generated_rv_free_wall(mesh, o);
  int agree = 0;
  for (int i = 0; i < mesh.num_points(); ++i) agree += generic[i] == exact[i];
  EXPECT_GT(agree, 0.85 * mesh.num_points());
}

TEST(GenerateVentricle, EstimatedFrameMatchesTheGeneratorFrame) {
  // Labels as on a clinical mesh: no base label (base nodes relabelled epicardium).
  TetMesh mesh = biv_mesh();
  Eigen::VectorXi surface = mesh.point_labels("surface");
  for (int i = 0; i < surface.size(); ++i)
    if (surface[i] == kBase) surface[i] = kEpi;
  mesh.set_point_labels("surface", surface);
  const AhaFrame truth = generated_aha_frame(small("biv"));
  const AhaFrame est = estimate_aha_frame(mesh);
  const Eigen::Vector3d axis_t = (truth.base_center - truth.apex).normalized();
  const Eigen::Vector3d axis_e = (est.base_center - est.apex).normalized();
  EXPECT_GT(axis_t.dot(axis_e), std::cos(5 * M_PI / 180));
  EXPECT_GT(truth.septum.dot(est.septum), std::cos(10 * M_PI / 180));
  EXPECT_LT((est.apex - truth.apex).norm(), 2.0);
  const Eigen::VectorXi a_t = aha_segments(mesh, truth), a_e = aha_segments(mesh, est);
  int agree = 0;
  for (int i = 0; i < a_t.size(); ++i) agree += a_t[i] == a_e[i];
  EXPECT_GT(agree, 0.85 * a_t.size());
}

TEST(GenerateVentricle, SameSeedSameMesh) {
  GeneratorOptions o;
  o.target_nodes = 400;
  const TetMesh a = generate_ventricle(o), b = generate_ventricle(o);
  ASSERT_EQ(a.num_points(), b.num_points());
  ASSERT_EQ(a.num_tets(), b.num_tets());
  EXPECT_TRUE(a.points == b.points);
  EXPECT_TRUE(a.tets == b.tets);
  EXPECT_TRUE(a.point_labels("surface") == b.point_labels("surface"));
  EXPECT_TRUE(a.point_labels("aha") == b.point_labels("aha"));
  o.seed = 1;
  const TetMesh c = generate_ventricle(o);
  EXPECT_FALSE(c.num_points() == a.num_points() && c.points == a.points) << "seed 1 gave the seed-0 mesh";
}

TEST(GenerateVentricle, ConcurrentCallsGiveTheSequentialMeshes) {
  // The dataset generator meshes several geometries in parallel threads.
  std::vector<GeneratorOptions> opts(3);
  opts[0].target_nodes = opts[1].target_nodes = 500;
  opts[1].seed = 1;
  opts[2] = small("biv");
  opts[2].target_nodes = 1000;
  std::vector<TetMesh> sequential, parallel(opts.size());
  for (const auto& o : opts) sequential.push_back(generate_ventricle(o));
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < opts.size(); ++k)
    threads.emplace_back([&, k] { parallel[k] = generate_ventricle(opts[k]); });
  for (auto& th : threads) th.join();
  for (std::size_t k = 0; k < opts.size(); ++k) {
    ASSERT_EQ(parallel[k].num_points(), sequential[k].num_points()) << "mesh " << k;
    EXPECT_TRUE(parallel[k].points == sequential[k].points) << "mesh " << k;
    EXPECT_TRUE(parallel[k].tets == sequential[k].tets) << "mesh " << k;
  }
}

TEST(GenerateVentricle, BivVolumeMatchesTheImplicitShape) {
  // Midpoint rule on a 160³ grid over the box holding every ellipsoid (error well below 1 %).
  const GeneratorOptions o = small("biv");
  const detail::VentricleShape shape(o);
  const Eigen::Vector3d lo(-10, -14, -20), hi(19, 14, 5);
  constexpr int kN = 160;
  const Eigen::Vector3d h = (hi - lo) / kN;
  long inside = 0;
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j)
      for (int k = 0; k < kN; ++k)
        inside += shape.in_myocardium(lo + h.cwiseProduct(Eigen::Vector3d(i + .5, j + .5, k + .5)));
  const double exact = inside * h.prod();
  const TetMesh& mesh = biv_mesh();
  EXPECT_NEAR(tet_volumes(mesh.points, mesh.tets).sum() / exact, 1.0, 0.03) << "grid volume " << exact;
  // The box really holds the shape.
  EXPECT_LE(mesh.points.col(0).maxCoeff(), hi.x());
  EXPECT_GE(mesh.points.col(0).minCoeff(), lo.x());
  EXPECT_LE(mesh.points.col(1).maxCoeff(), hi.y());
  EXPECT_GE(mesh.points.col(1).minCoeff(), lo.y());
}

TEST(GenerateVentricle, SubjectsDifferByShapeOptions) {
  GeneratorOptions o;
  o.target_nodes = 400;
  o.lv_epi_short_radius = 11.5;
  o.lv_epi_long_radius = 21;
  const TetMesh m = generate_ventricle(o);
  const double exact = cap_volume(11.5, 21, 5) - cap_volume(7, 17, 5);
  EXPECT_NEAR(tet_volumes(m.points, m.tets).sum() / exact, 1.0, 0.05);
}

#ifdef METAEIK_CLI
TEST(MeshGenerateCli, WritesALabelledMeshAndRejectsBadFlags) {
  if (!std::filesystem::exists(METAEIK_CLI)) GTEST_SKIP() << "CLI not built: " << METAEIK_CLI;
  const auto dir = std::filesystem::temp_directory_path() / ("metaeik_gen_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto out = dir / "lv.vtu", log = dir / "log.txt";
  const std::string cli = METAEIK_CLI;
  int rc = std::system((cli + " -q mesh generate --shape lv --nodes 300 --lv-epi-long-radius 21 -o " +
                        out.string() + " 2> " + log.string())
                           .c_str());
  ASSERT_EQ(rc, 0);
  const TetMesh m = read_mesh(out);
  EXPECT_TRUE(m.has_point_array("surface"));
  EXPECT_TRUE(m.has_point_array("aha"));
  EXPECT_GT(m.points.col(2).minCoeff(), -21.01);
  EXPECT_LT(m.points.col(2).minCoeff(), -20.5);  // the flag reached the generator

  rc = std::system((cli + " mesh generate --lv-endo-short-radius -1 -o " + (dir / "bad.vtu").string() +
                    " 2> " + log.string())
                       .c_str());
  EXPECT_NE(rc, 0);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("error: generator option 'lv_endo_short_radius' must be positive, got -1"),
            std::string::npos)
      << ss.str();
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.vtu"));
  std::filesystem::remove_all(dir);
}
#endif

}  // namespace
}  // namespace metaeik::geometry
