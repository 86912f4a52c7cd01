#include "geometry/tet_mesh.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace metaeik::geometry {
namespace {

TetMesh unit_tet() {
  TetMesh m;
  m.points.resize(4, 3);
  m.points << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1;
  m.tets.resize(1, 4);
  m.tets << 0, 1, 2, 3;
  return m;
}

TEST(TetMesh, VolumeAndQuality) {
  TetMesh m = unit_tet();
  EXPECT_DOUBLE_EQ(tet_volumes(m.points, m.tets)[0], 1.0 / 6.0);
  // Regular tetrahedron has quality 1.
  m.points << 1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1;
  if (tet_volumes(m.points, m.tets)[0] < 0) std::swap(m.tets(0, 2), m.tets(0, 3));
  EXPECT_NEAR(tet_quality(m.points, m.tets)[0], 1.0, 1e-12);
}

TEST(TetMesh, ArraysAreCheckedByName) {
  TetMesh m = unit_tet();
  m.set_point_labels("surface", Eigen::Vector4i(1, 3, 3, 4));
  EXPECT_EQ(m.point_labels("surface"), Eigen::Vector4i(1, 3, 3, 4));
  try {
    m.point_scalar("speed");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "mesh has no point array 'speed'");
  }
  try {
    m.set_point_array("speed", ArrayValues::Ones(3, 1));
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "point array 'speed' has 3 rows, mesh has 4 points");
  }
}

TEST(TetMesh, ValidateReportsProblems) {
  TetMesh empty;
  empty.points = unit_tet().points;
  try {
    validate(empty, "x.vtu");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "x.vtu: mesh has no tetrahedra");
  }
  TetMesh bad = unit_tet();
  bad.point_data["a"] = DataArray{ArrayValues::Zero(2, 1), ScalarType::kFloat64};
  try {
    validate(bad, "x.vtu");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "x.vtu: point array 'a' has 2 rows, expected 4");
  }
}

}  // namespace
}  // namespace metaeik::geometry
