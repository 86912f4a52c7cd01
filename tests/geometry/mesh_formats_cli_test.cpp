// `metaeikonal mesh info|convert` and `solve` with Gmsh and openCARP files, end to end.

#include <gtest/gtest.h>

#include <fstream>

#include "../support/cli.hpp"
#include "../support/fuzz.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/opencarp_io.hpp"
#include "geometry/structured.hpp"

namespace metaeik::geometry {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

const std::string kLv = (test::source_dir() / "meshes/ldrb_patient_lv/ldrb_patient_lv.msh").string();

TEST(MeshFormatsCli, InfoAndConvertBetweenVtuVtkMshAndOpenCarp) {
  test::TempDir dir("mesh_formats_convert");
  const TetMesh lv = read_mesh(kLv);
  // Gmsh 2.2 ASCII → .vtk → openCARP → Gmsh 2.2 binary → .vtu; the tags ride along as 'physical'
  // (.vtk, .msh, .vtu) and 'region' (openCARP).
  const std::vector<std::string> chain = {"a.vtk", "b.pts", "c.msh --msh-version 2.2 --msh-binary", "d.vtu"};
  std::string from = kLv;
  for (const auto& step : chain) {
    const std::string to = (dir / step).string();
    const auto r = run_cli("-q mesh convert " + from + " " + to);
    ASSERT_EQ(r.exit_code, 0) << step << ": " << r.output;
    from = to.substr(0, to.find(' '));
  }
  const TetMesh end = read_mesh(dir / "d.vtu");
  EXPECT_LE((end.points - lv.points).cwiseAbs().maxCoeff(), 1e-13);  // through µm and back
  EXPECT_EQ(end.tets, lv.tets);
  EXPECT_EQ(end.cell_data.at("physical").values, lv.cell_data.at("physical").values);
  EXPECT_EQ(read_mesh(dir / "b.elem").cell_data.at("region").values, lv.cell_data.at("physical").values);

  auto r = run_cli("mesh info " + kLv + " " + (dir / "b.pts").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kLv + "\n  nodes 417, tets 1260, volume 64800.5 mm^3\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("  cell_arrays: physical(1)\n  physical labels: 6:1260\n"), std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find((dir / "b.pts").string() +
                    "\n  units: openCARP .pts coordinates are um, shown here in mm (x 1e-3)\n  nodes 417, "
                    "tets 1260, volume 64800.5 mm^3\n"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("  cell_arrays: region(1)\n  region labels: 6:1260\n"), std::string::npos)
      << r.output;

  test::write_bytes(dir / "bad.elem", "1\nPy 0 1 2 3 4 1\n");
  test::write_bytes(dir / "bad.pts", "5\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n1 1 1\n");
  r = run_cli("-q mesh convert " + (dir / "bad.pts").string() + " " + (dir / "x.vtu").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + (dir / "bad.elem").string() +
                          ":2: element type 'Py' is not supported (only Tt tetrahedra)\n");
  EXPECT_FALSE(fs::exists(dir / "x.vtu"));
}

TEST(MeshFormatsCli, SolvesAnOpenCarpMeshWithLonFibresAndVtxSources) {
  test::TempDir dir("mesh_formats_solve");
  TetMesh cube = cube_mesh(6, 6.0);  // 343 nodes, 1296 tets, mm
  ArrayValues fibre(cube.num_tets(), 3);
  fibre.rowwise() = Eigen::RowVector3d(0.0, 0.0, 1.0);
  cube.set_cell_array("fiber", fibre);
  write_mesh(cube, dir / "heart.pts");
  write_vtx({{0}, "intra"}, dir / "corner.vtx");
  const std::string base =
      "-q solve " + (dir / "heart.pts").string() + " -o " + (dir / "at.vtu").string() + " ";
  auto r = run_cli(base + "--fibers lon --speed-fiber 0.6 --speed-sheet 0.3 --source-vtx " +
                   (dir / "corner.vtx").string() + ":2.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto at = read_mesh(dir / "at.vtu").point_scalar("activation_time");
  EXPECT_EQ(at[0], 2.5);
  EXPECT_NEAR(at[box_point_index(0, 0, 6, 6, 6)], 2.5 + 6.0 / 0.6, 1e-9);  // along the .lon fibres (z)
  EXPECT_NEAR(at[box_point_index(6, 0, 0, 6, 6)], 2.5 + 6.0 / 0.3, 1e-9);  // across

  // A .vtx node out of range and `--fibers lon` on a mesh without .lon are errors.
  test::write_bytes(dir / "far.vtx", "1\nintra\n343\n");
  r = run_cli(base + "--speed 0.6 --source-vtx " + (dir / "far.vtx").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + (dir / "far.vtx").string() +
                          ":3: node index 343 is out of range [0, 343) of the mesh\n");
  fs::remove(dir / "heart.lon");
  r = run_cli(base + "--fibers lon --speed-fiber 0.6 --speed-sheet 0.3 --source 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + (dir / "heart.pts").string() +
                          ": --fibers lon: the mesh has no .lon fibres (cell array 'fiber'; is " +
                          (dir / "heart").string() + ".lon missing?)\n");
}

}  // namespace
}  // namespace metaeik::geometry
