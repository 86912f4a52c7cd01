// `metaeikonal solve` end to end: output arrays match the library, --json, and one-line errors.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eikonal/dijkstra.hpp"
#include "eikonal/fim.hpp"
#include "geometry/structured.hpp"
#include "geometry/vtk_io.hpp"
#include "tests/support/cli.hpp"

namespace metaeik::eikonal {
namespace {

using test::run_cli;

class SolveCli : public ::testing::Test {
 protected:
  void SetUp() override {
    mesh_ = geometry::cube_mesh(6, 6.0);  // 343 nodes, 1296 tets
    Eigen::VectorXd cv = Eigen::VectorXd::Constant(mesh_.num_points(), 0.6);
    for (int i = 0; i < mesh_.num_points(); ++i)
      if (mesh_.points(i, 0) > 3.0) cv[i] = 0.2;
    mesh_.set_point_array("cv", cv);
    geometry::ArrayValues fibre(mesh_.num_tets(), 3);
    fibre.rowwise() = Eigen::RowVector3d(0.0, 0.0, 1.0);
    mesh_.set_cell_array("fiber", fibre);
    geometry::write_mesh(mesh_, dir_ / "cube.vtu");
  }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }

  test::TempDir dir_{"solve_cli"};
  geometry::TetMesh mesh_;
};

nlohmann::json last_json_line(const std::string& output) {
  std::istringstream in(output);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') last = line;
  return nlohmann::json::parse(last);
}

TEST_F(SolveCli, WritesActivationTimesAndJson) {
  const auto r = run_cli("-q solve " + path("cube.vtu") + " --speed 0.5 --source 0 --source 200:3.5 -o " +
                         path("out.vtu") + " --json --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = last_json_line(r.output);
  for (const char* key : {"solve_seconds", "iterations", "local_updates", "converged", "max_time"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["converged"].get<bool>());
  EXPECT_GE(j["solve_seconds"].get<double>(), 0.0);

  const auto expected = solve(mesh_, SpeedField::uniform(mesh_, 0.5), {{0, 0.0}, {200, 3.5}});
  const auto out = geometry::read_mesh(path("out.vtu"));
  const Eigen::VectorXd at = out.point_scalar("activation_time");
  EXPECT_LT((at - expected.times).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_DOUBLE_EQ(j["max_time"].get<double>(), expected.times.maxCoeff());
  EXPECT_EQ(j["iterations"].get<int>(), expected.stats.iterations);
  EXPECT_EQ(out.point_scalar("speed").minCoeff(), 0.5);
  EXPECT_TRUE(out.has_point_array("cv"));  // input arrays are kept
}

TEST_F(SolveCli, SpeedArrayDijkstraAndFibres) {
  auto r = run_cli("-q solve " + path("cube.vtu") + " --speed-array cv --method dijkstra --source 0 -o " +
                   path("dij.vtu"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  SpeedField cv;
  cv.speed = mesh_.point_scalar("cv");
  const auto dij = solve_dijkstra(mesh_, cv, {{0, 0.0}});
  EXPECT_LT((geometry::read_mesh(path("dij.vtu")).point_scalar("activation_time") - dij.times)
                .cwiseAbs()
                .maxCoeff(),
            1e-12);

  r = run_cli("-q solve " + path("cube.vtu") +
              " --fibers fiber --speed-fiber 0.6 --speed-sheet 0.3 --source 0 -o " + path("aniso.vtu"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto at = geometry::read_mesh(path("aniso.vtu")).point_scalar("activation_time");
  EXPECT_NEAR(at[geometry::box_point_index(0, 0, 6, 6, 6)], 6.0 / 0.6, 1e-9);  // along the fibre
  EXPECT_NEAR(at[geometry::box_point_index(6, 0, 0, 6, 6)], 6.0 / 0.3, 1e-9);  // across
}

TEST_F(SolveCli, BadInputGivesOneLineErrors) {
  const std::string base = "-q solve " + path("cube.vtu") + " -o " + path("bad.vtu") + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--speed 0.6 --source 343", "error: source node 343 is out of range [0, 343)\n"},
      {"--speed 0.6 --source x:1",
       "error: --source 'x:1': expected NODE or NODE:T0 (node index, onset time in ms)\n"},
      {"--speed 0.6 --source 3:nan",
       "error: --source '3:nan': expected NODE or NODE:T0 (node index, onset time in ms)\n"},
      {"--speed -1 --source 0", "error: --speed must be a positive number (mm/ms), got -1\n"},
      {"--speed 0 --source 0", "error: --speed must be a positive number (mm/ms), got 0\n"},
      {"--speed-array nope --source 0", "error: " + path("cube.vtu") + ": no point or cell array 'nope'\n"},
      {"--speed-array fiber --source 0",
       "error: " + path("cube.vtu") + ": speed array 'fiber' has 3 components, expected 1\n"},
      {"--source 0",
       "error: give exactly one of --speed, --speed-array or --fibers (with --speed-fiber and "
       "--speed-sheet)\n"},
      {"--fibers fiber --source 0", "error: --fibers needs --speed-fiber and --speed-sheet\n"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(base + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.output, message) << args;
  }
  EXPECT_FALSE(std::filesystem::exists(path("bad.vtu")));
}

TEST_F(SolveCli, NonPositiveOrNanSpeedArrays) {
  for (const double bad : {0.0, std::nan("")}) {
    geometry::TetMesh m = mesh_;
    Eigen::VectorXd cv = m.point_scalar("cv");
    cv[3] = bad;
    m.set_point_array("cv", cv);
    geometry::write_mesh(m, path("badspeed.vtu"));
    const auto r =
        run_cli("-q solve " + path("badspeed.vtu") + " --speed-array cv --source 0 -o " + path("o.vtu"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.output, bad == 0.0 ? "error: speed at node 3 is not positive (0)\n"
                                   : "error: speed at node 3 is not finite (nan)\n");
  }
}

TEST_F(SolveCli, MeshWithoutTetsIsRejected) {
  std::ofstream(path("tri.vtk"))
      << "# vtk DataFile Version 4.2\ntriangle\nASCII\nDATASET UNSTRUCTURED_GRID\n"
         "POINTS 3 double\n0 0 0\n1 0 0\n0 1 0\nCELLS 1 4\n3 0 1 2\nCELL_TYPES 1\n5\n";
  const auto r = run_cli("-q solve " + path("tri.vtk") + " --speed 0.6 --source 0 -o " + path("o.vtu"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + path("tri.vtk") + ": mesh has no tetrahedra (1 other cells)\n");
}

}  // namespace
}  // namespace metaeik::eikonal
