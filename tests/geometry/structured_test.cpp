// Structured box meshes: counts, coordinates, orientation and conformity of both splits.

#include "geometry/structured.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>

#include "core/error.hpp"

namespace metaeik::geometry {
namespace {

class BoxMeshTest : public ::testing::TestWithParam<BoxSplit> {};

TEST_P(BoxMeshTest, CountsVolumesAndConformity) {
  const int nx = 3, ny = 4, nz = 2;
  const Eigen::Vector3d size(3.0, 2.0, 1.0), origin(1.0, -1.0, 0.5);
  const TetMesh m = box_mesh(nx, ny, nz, size, origin, GetParam());
  EXPECT_EQ(m.num_points(), 4 * 5 * 3);
  EXPECT_EQ(m.num_tets(), 6 * nx * ny * nz);
  EXPECT_EQ(m.points.row(box_point_index(nx, ny, nz, nx, ny)), (origin + size).transpose());
  EXPECT_EQ(m.points.row(0), origin.transpose());

  const Eigen::VectorXd vol = tet_volumes(m.points, m.tets);
  const double cell = size.prod() / (nx * ny * nz);
  for (int t = 0; t < m.num_tets(); ++t) EXPECT_NEAR(vol[t], cell / 6.0, 1e-12) << "tet " << t;  // positive
  EXPECT_NEAR(vol.sum(), size.prod(), 1e-12);

  // Conforming: every face is shared by two tets, except the 2 per boundary cell face.
  std::map<std::array<int, 3>, int> faces;
  for (int t = 0; t < m.num_tets(); ++t)
    for (int skip = 0; skip < 4; ++skip) {
      std::array<int, 3> f;
      for (int k = 0, j = 0; k < 4; ++k)
        if (k != skip) f[j++] = m.tets(t, k);
      std::sort(f.begin(), f.end());
      ++faces[f];
    }
  int boundary = 0;
  for (const auto& [f, count] : faces) {
    EXPECT_LE(count, 2);
    boundary += count == 1;
  }
  EXPECT_EQ(boundary, 4 * (nx * ny + ny * nz + nx * nz));
}

INSTANTIATE_TEST_SUITE_P(Splits, BoxMeshTest, ::testing::Values(BoxSplit::kKuhn, BoxSplit::kMirrored),
                         [](const auto& info) {
                           return info.param == BoxSplit::kKuhn ? "Kuhn" : "Mirrored";
                         });

TEST(BoxMesh, KuhnCellsShareTheMainDiagonal) {
  const TetMesh m = cube_mesh(1, 2.0);
  for (int t = 0; t < 6; ++t) {
    const auto row = m.tets.row(t);
    EXPECT_TRUE((row.array() == 0).any() && (row.array() == 7).any()) << "tet " << t;
  }
}

TEST(BoxMesh, RejectsBadSizes) {
  try {
    box_mesh(0, 1, 1, Eigen::Vector3d::Ones());
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "box mesh: cell counts must be at least 1, got 0×1×1");
  }
  EXPECT_THROW(cube_mesh(2, -1.0), core::Error);
}

}  // namespace
}  // namespace metaeik::geometry
