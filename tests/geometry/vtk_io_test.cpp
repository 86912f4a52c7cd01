#include "geometry/vtk_io.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "../support/cli.hpp"
#include "core/error.hpp"

namespace metaeik::geometry {
namespace {

namespace fs = std::filesystem;

/// Two tets sharing a face, with point/cell arrays of several types.
TetMesh two_tets() {
  TetMesh m;
  m.points.resize(5, 3);
  m.points << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1;
  m.tets.resize(2, 4);
  m.tets << 0, 1, 2, 3, 1, 2, 3, 4;
  if (tet_volumes(m.points, m.tets)[1] < 0) std::swap(m.tets(1, 2), m.tets(1, 3));
  m.set_point_labels("surface", (Eigen::VectorXi(5) << 1, 3, 3, 4, 0).finished());
  ArrayValues vec(5, 3);
  vec.setRandom();
  m.set_point_array("fiber", vec, ScalarType::kFloat64);
  ArrayValues f(5, 1);
  f << 0.5f, 1.25f, -3.0f, 7.0f, 1e-3f;
  m.set_point_array("at_f32", f, ScalarType::kFloat32);
  m.set_cell_array("speed", (ArrayValues(2, 1) << 0.6, 0.1).finished());
  m.set_cell_array("flag", (ArrayValues(2, 1) << 1, 0).finished(), ScalarType::kUInt8);
  return m;
}

void expect_same(const TetMesh& a, const TetMesh& b) {
  ASSERT_EQ(a.num_points(), b.num_points());
  ASSERT_EQ(a.num_tets(), b.num_tets());
  EXPECT_EQ(a.points, b.points);
  EXPECT_EQ(a.tets, b.tets);
  ASSERT_EQ(a.point_data.size(), b.point_data.size());
  ASSERT_EQ(a.cell_data.size(), b.cell_data.size());
  for (const auto* data : {&a.point_data, &a.cell_data}) {
    const auto& other = data == &a.point_data ? b.point_data : b.cell_data;
    for (const auto& [name, arr] : *data) {
      ASSERT_TRUE(other.count(name)) << name;
      EXPECT_EQ(arr.values, other.at(name).values) << name;
      EXPECT_EQ(arr.type, other.at(name).type) << name;
    }
  }
}

std::string error_of(const fs::path& p) {
  try {
    read_mesh(p);
  } catch (const core::Error& e) {
    return e.what();
  }
  return "no error";
}

class VtkRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(VtkRoundTrip, WriteReadWriteIsExact) {
  test::TempDir dir("vtk_rt");
  const TetMesh m = two_tets();
  const auto f1 = dir / ("a" + GetParam()), f2 = dir / ("b" + GetParam());
  write_mesh(m, f1);
  const TetMesh r = read_mesh(f1);
  expect_same(m, r);
  write_mesh(r, f2);
  expect_same(m, read_mesh(f2));
}

INSTANTIATE_TEST_SUITE_P(Formats, VtkRoundTrip, ::testing::Values(".vtu", ".vtk"));

TEST(VtkIo, ReadsTheRealCrtdemoBiv) {
  const auto dir = test::source_dir() / "meshes" / "crtdemo_biv";
  const TetMesh original = read_mesh(dir / "crtdemo_mesh_oriented.vtk");  // legacy 5.1 binary
  EXPECT_EQ(original.num_points(), 4569);
  EXPECT_EQ(original.num_tets(), 17866);
  EXPECT_NEAR(tet_volumes(original.points, original.tets).sum(), 226.5e3, 0.1e3);
  const TetMesh labelled = read_mesh(dir / "crtdemo_biv_labeled_v42.vtk");  // legacy 4.2 ASCII
  EXPECT_TRUE(labelled.points.isApprox(original.points, 1e-6));             // ASCII copy of the binary file
  EXPECT_EQ(labelled.tets, original.tets);
  const Eigen::VectorXi s = labelled.point_labels("surface_label");
  EXPECT_EQ((s.array() == 1).count(), 441);
  EXPECT_EQ((s.array() == 2).count(), 817);
  EXPECT_EQ(labelled.point_data.at("fiber").components(), 3);
}

TEST(VtkIo, BadFilesGiveOneLineErrors) {
  test::TempDir dir("vtk_bad");
  EXPECT_EQ(error_of(dir / "missing.vtu"), (dir / "missing.vtu").string() + ": file does not exist");
  std::ofstream(dir / "mesh.stl") << "solid x";
  EXPECT_EQ(error_of(dir / "mesh.stl"),
            (dir / "mesh.stl").string() +
                ": unsupported mesh format '.stl' (expected .vtu, .vtk, .msh or openCARP .pts/.elem/.lon)");

  // Truncated: the first half of a valid file.
  write_mesh(two_tets(), dir / "ok.vtu");
  {
    std::ifstream in(dir / "ok.vtu", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "cut.vtu", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_EQ(error_of(dir / "cut.vtu").rfind((dir / "cut.vtu").string() + ": cannot read VTU file (", 0), 0u)
      << error_of(dir / "cut.vtu");

  // Surface only (polydata).
  std::ofstream(dir / "surf.vtk")
      << "# vtk DataFile Version 4.2\nsurf\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n"
         "0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 1 2\n";
  EXPECT_EQ(error_of(dir / "surf.vtk"),
            (dir / "surf.vtk").string() +
                ": mesh has no tetrahedra (file holds vtkPolyData, not an unstructured grid)");

  // Unstructured grid of triangles only.
  std::ofstream(dir / "tri.vtk")
      << "# vtk DataFile Version 4.2\ntri\nASCII\nDATASET UNSTRUCTURED_GRID\n"
         "POINTS 3 float\n0 0 0 1 0 0 0 1 0\nCELLS 1 4\n3 0 1 2\nCELL_TYPES 1\n5\n";
  EXPECT_EQ(error_of(dir / "tri.vtk"),
            (dir / "tri.vtk").string() + ": mesh has no tetrahedra (1 other cells)");

  auto tet_file = [&](const std::string& name, const std::string& points, const std::string& cell) {
    std::ofstream(dir / name)
        << "# vtk DataFile Version 4.2\nt\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 4 double\n"
        << points << "\nCELLS 1 5\n"
        << cell << "\nCELL_TYPES 1\n10\n";
    return error_of(dir / name);
  };
  EXPECT_EQ(tet_file("range.vtk", "0 0 0 1 0 0 0 1 0 0 0 1", "4 0 1 2 7"),
            (dir / "range.vtk").string() + ": tet 0 references point 7, out of range [0, 4)");
  TetMesh nan = two_tets();
  nan.points(2, 1) = std::numeric_limits<double>::quiet_NaN();
  write_mesh(nan, dir / "nan.vtu");
  EXPECT_EQ(error_of(dir / "nan.vtu"), (dir / "nan.vtu").string() + ": point 2 has a non-finite coordinate");
  EXPECT_EQ(tet_file("flat.vtk", "0 0 0 1 0 0 0 1 0 1 1 0", "4 0 1 2 3"),
            (dir / "flat.vtk").string() + ": tet 0 has zero volume (degenerate)");
}

TEST(VtkIo, InvertedTetsAreReoriented) {
  test::TempDir dir("vtk_inv");
  std::ofstream(dir / "inv.vtk")
      << "# vtk DataFile Version 4.2\nt\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 4 double\n"
         "0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 5\n4 0 2 1 3\nCELL_TYPES 1\n10\n";
  const TetMesh m = read_mesh(dir / "inv.vtk");
  EXPECT_GT(tet_volumes(m.points, m.tets)[0], 0.0);
  EXPECT_NEAR(tet_volumes(m.points, m.tets)[0], 1.0 / 6.0, 1e-15);
}

TEST(VtkIo, WriteRefusesUnknownExtensionAndKeepsExistingFile) {
  test::TempDir dir("vtk_w");
  try {
    write_mesh(two_tets(), dir / "m.obj");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "m.obj").string() +
                  ": unsupported mesh format '.obj' (expected .vtu, .vtk, .msh or openCARP .pts/.elem/.lon)");
  }
}

}  // namespace
}  // namespace metaeik::geometry
