#include "geometry/surface.hpp"

#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <set>

namespace metaeik::geometry {
namespace {

// Each face's normal must point away from the fourth vertex of the tet that owns it.
void expect_outward(const Points& P, const Tets& T) {
  const Triangles F = boundary_faces(T);
  const std::vector<int> owner = boundary_face_tets(T);
  ASSERT_EQ(owner.size(), std::size_t(F.rows()));
  const Points N = face_normals(P, F);
  for (int f = 0; f < F.rows(); ++f) {
    const int t = owner[f];
    int opposite = -1;
    for (int k = 0; k < 4; ++k)
      if (T(t, k) != F(f, 0) && T(t, k) != F(f, 1) && T(t, k) != F(f, 2)) opposite = T(t, k);
    ASSERT_GE(opposite, 0) << "face " << f << " is not a face of tet " << t;
    const Eigen::Vector3d to_opposite = P.row(opposite) - P.row(F(f, 0));
    EXPECT_LT(N.row(f).dot(to_opposite), 0) << "face " << f << " points into its tet";
  }
}

TEST(BoundaryFaces, SingleTetHasFourOutwardFaces) {
  Points P(4, 3);
  P << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1;
  Tets T(1, 4);
  T << 0, 1, 2, 3;
  const Triangles F = boundary_faces(T);
  ASSERT_EQ(F.rows(), 4);
  expect_outward(P, T);
  EXPECT_EQ(boundary_nodes(T), (std::vector<int>{0, 1, 2, 3}));
  // The face opposite the origin is x + y + z = 1 with outward normal (1, 1, 1)/√3 and area √3/2.
  const Points N = face_normals(P, F);
  const Eigen::VectorXd A = face_areas(P, F);
  EXPECT_NEAR(A.sum(), 1.5 + std::sqrt(3.0) / 2, 1e-12);
  bool found = false;
  for (int f = 0; f < F.rows(); ++f)
    if (std::set<int>{F(f, 0), F(f, 1), F(f, 2)} == std::set<int>{1, 2, 3}) {
      found = true;
      EXPECT_NEAR((N.row(f) - Eigen::RowVector3d::Constant(1 / std::sqrt(3.0))).norm(), 0, 1e-12);
      EXPECT_NEAR(A[f], std::sqrt(3.0) / 2, 1e-12);
    }
  EXPECT_TRUE(found);
}

TEST(BoundaryFaces, TwoTetsDropTheSharedFace) {
  Points P(5, 3);
  P << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, -1;
  Tets T(2, 4);
  T << 0, 1, 2, 3,  //
      0, 2, 1, 4;   // below the shared face (0, 1, 2); positively oriented
  ASSERT_GT(tet_volumes(P, T).minCoeff(), 0);
  const Triangles F = boundary_faces(T);
  ASSERT_EQ(F.rows(), 6);
  for (int f = 0; f < F.rows(); ++f)
    EXPECT_NE((std::set<int>{F(f, 0), F(f, 1), F(f, 2)}), (std::set<int>{0, 1, 2}));
  expect_outward(P, T);
  EXPECT_EQ(boundary_face_tets(T), (std::vector<int>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(boundary_nodes(T), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(BoundaryFaces, CubeSatisfiesTheDivergenceTheorem) {
  // Unit cube split into 6 tets around the diagonal 0–7 (Kuhn triangulation).
  Points P(8, 3);
  for (int i = 0; i < 8; ++i) P.row(i) << (i & 1), (i >> 1) & 1, (i >> 2) & 1;
  Tets T(6, 4);
  T << 0, 1, 3, 7, 0, 1, 5, 7, 0, 2, 3, 7, 0, 2, 6, 7, 0, 4, 5, 7, 0, 4, 6, 7;
  for (int t = 0; t < 6; ++t)
    if (tet_volumes(P, T.row(t)).value() < 0) std::swap(T(t, 2), T(t, 3));
  const Triangles F = boundary_faces(T);
  ASSERT_EQ(F.rows(), 12);
  expect_outward(P, T);
  const Points N = face_normals(P, F);
  const Eigen::VectorXd A = face_areas(P, F);
  EXPECT_NEAR(A.sum(), 6.0, 1e-12);
  // ∮ n dA = 0 and ∮ (x·n)/3 dA = volume = 1.
  Eigen::Vector3d flux = Eigen::Vector3d::Zero();
  double volume = 0;
  for (int f = 0; f < F.rows(); ++f) {
    flux += A[f] * N.row(f).transpose();
    const Eigen::Vector3d c = (P.row(F(f, 0)) + P.row(F(f, 1)) + P.row(F(f, 2))) / 3.0;
    volume += A[f] * c.dot(N.row(f)) / 3.0;
  }
  EXPECT_NEAR(flux.norm(), 0, 1e-12);
  EXPECT_NEAR(volume, 1.0, 1e-12);
  EXPECT_EQ(boundary_nodes(T).size(), 8u);
}

TEST(BoundaryFaces, EmptyMeshHasNoFaces) {
  EXPECT_EQ(boundary_faces(Tets(0, 4)).rows(), 0);
  EXPECT_TRUE(boundary_nodes(Tets(0, 4)).empty());
}

}  // namespace
}  // namespace metaeik::geometry
