#include "geometry/labels.hpp"

#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::geometry {
namespace {

TEST(NodeLabelsFromFaces, HighestPriorityWins) {
  Triangles F(4, 3);
  F << 0, 1, 2,  //
      1, 2, 3,   //
      2, 3, 4,   //
      4, 5, 6;
  // face labels: epi, LV endo, base, RV endo
  const Eigen::VectorXi l = node_labels_from_faces(8, F, {kEpi, kLvEndo, kBase, kRvEndo});
  EXPECT_EQ(l[0], kEpi);
  EXPECT_EQ(l[1], kLvEndo);  // LV endo beats epi
  EXPECT_EQ(l[2], kBase);    // base beats everything
  EXPECT_EQ(l[3], kBase);
  EXPECT_EQ(l[4], kBase);
  EXPECT_EQ(l[5], kRvEndo);
  EXPECT_EQ(l[7], kInterior);  // on no face
  try {
    node_labels_from_faces(8, F, {1, 2});
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "node_labels_from_faces: 4 faces but 2 labels");
  }
}

// One point per (height, angle) with the expected segment, in the frame apex (0,0,0),
// base (0,0,10), septum +x ⇒ anterior = z × x = +y; bull's-eye angle θ has
// screen x = −(d·septum), screen y = d·anterior.
struct Probe {
  double t;      // height fraction along apex → base
  double theta;  // bull's-eye angle, degrees
  int segment;
};

std::vector<Probe> probes() {
  std::vector<Probe> p;
  // basal (t = 0.9) and mid (t = 0.55): sector centres 90 (1/7), 150 (2/8), 210, 270, 330, 30 (6/12)
  const double centres[6] = {90, 150, 210, 270, 330, 30};
  for (int s = 0; s < 6; ++s) {
    p.push_back({0.9, centres[s], s + 1});
    p.push_back({0.55, centres[s], s + 7});
    p.push_back({0.9, centres[s] + 25, s + 1});  // still inside the 60° sector
    p.push_back({0.55, centres[s] - 25, s + 7});
  }
  // apical (t = 0.2): 90 anterior 13, 180 septal 14, 270 inferior 15, 0 lateral 16 (±40°)
  const double apical[4] = {90, 180, 270, 0};
  for (int s = 0; s < 4; ++s) {
    p.push_back({0.2, apical[s], 13 + s});
    p.push_back({0.2, apical[s] + 40, 13 + s});
    p.push_back({0.2, apical[s] - 40, 13 + s});
  }
  p.push_back({0.05, 123, 17});  // apical cap (apex_fraction 0.1)
  p.push_back({-0.2, 300, 17});  // below the apex
  p.push_back({1.3, 90, 1});     // above the base clamps to basal
  return p;
}

TEST(AhaSegments, SyntheticPointsInAKnownFrame) {
  const auto ps = probes();
  TetMesh mesh;
  mesh.points.resize(ps.size(), 3);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const double a = ps[i].theta * M_PI / 180, r = 3.0;
    // screen (cos a, sin a) = (−d·x, d·y)
    mesh.points.row(i) << -r * std::cos(a), r * std::sin(a), 10.0 * ps[i].t;
  }
  AhaFrame frame;
  frame.apex = {0, 0, 0};
  frame.base_center = {0, 0, 10};
  frame.septum = {1, 0, 0.7};  // the part along the axis is ignored
  frame.apex_fraction = 0.1;
  const Eigen::VectorXi aha = aha_segments(mesh, frame);
  for (std::size_t i = 0; i < ps.size(); ++i)
    EXPECT_EQ(aha[i], ps[i].segment) << "t " << ps[i].t << " theta " << ps[i].theta;

  // The same labels after a rigid motion of points and frame.
  const Eigen::Matrix3d R = (Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()) *
                             Eigen::AngleAxisd(-1.9, Eigen::Vector3d::UnitZ()))
                                .toRotationMatrix();
  const Eigen::Vector3d shift(4, -7, 12);
  TetMesh moved = mesh;
  for (int i = 0; i < moved.num_points(); ++i)
    moved.points.row(i) = (R * mesh.points.row(i).transpose() + shift).transpose();
  AhaFrame mf = frame;
  mf.apex = R * frame.apex + shift;
  mf.base_center = R * frame.base_center + shift;
  mf.septum = R * frame.septum;
  EXPECT_EQ(aha_segments(moved, mf), aha);
}

TEST(AhaSegments, RejectsDegenerateFrames) {
  TetMesh mesh;
  mesh.points = Points::Zero(1, 3);
  AhaFrame frame;
  frame.base_center = frame.apex;
  try {
    aha_segments(mesh, frame);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "AHA frame: long axis (base_center - apex) has zero length");
  }
  frame.base_center = {0, 0, 1};
  frame.septum = {0, 0, 2};
  try {
    aha_segments(mesh, frame);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "AHA frame: septum direction perpendicular to the long axis has zero length");
  }
  frame.septum = {1, 0, 0};
  frame.apex_fraction = 1.0;
  try {
    aha_segments(mesh, frame);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "AHA frame: apex_fraction must lie in [0, 1), got 1");
  }
}

TEST(EstimateAhaFrame, NeedsLvEndocardiumLabels) {
  TetMesh mesh;
  mesh.points = Points::Zero(5, 3);
  mesh.set_point_labels("surface", Eigen::VectorXi::Constant(5, kEpi));
  try {
    estimate_aha_frame(mesh);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(),
                 "AHA frame: the mesh has 0 LV-endocardium nodes (surface label 1), need at least 10");
  }
}

TEST(EstimateAhaFrame, ProlateCavityPointCloud) {
  // LV-endo nodes on a truncated prolate spheroid (radii 7, 7, 17, cut at z = 5) and epicardial
  // nodes on (10, 10, 20); no base or RV labels: the axis must come out as +z (wider end up).
  std::vector<Eigen::Vector3d> pts;
  std::vector<int> labels;
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 24; ++j) {
      const double phi = 2 * M_PI * j / 24;
      for (int s = 0; s < 2; ++s) {
        const double a = s ? 10 : 7, c = s ? 20 : 17;
        const double z = -c + (5 + c) * (i + 0.5) / 40;
        const double r = a * std::sqrt(std::max(0.0, 1 - z * z / (c * c)));
        pts.emplace_back(r * std::cos(phi), r * std::sin(phi), z);
        labels.push_back(s ? kEpi : kLvEndo);
      }
    }
  pts.emplace_back(0, 0, -20);  // epicardial apex
  labels.push_back(kEpi);
  TetMesh mesh;
  mesh.points.resize(pts.size(), 3);
  for (std::size_t i = 0; i < pts.size(); ++i) mesh.points.row(i) = pts[i].transpose();
  mesh.set_point_labels("surface", Eigen::Map<Eigen::VectorXi>(labels.data(), labels.size()));
  const AhaFrame f = estimate_aha_frame(mesh);
  const Eigen::Vector3d axis = (f.base_center - f.apex).normalized();
  EXPECT_GT(axis.z(), std::cos(1.0 * M_PI / 180));
  EXPECT_NEAR(f.apex.z(), -20, 0.01);
  EXPECT_NEAR(f.base_center.z(), 5, 0.5);
  EXPECT_NEAR(f.apex_fraction, 3.0 / 25, 0.03);
  EXPECT_NEAR(std::abs(f.septum.dot(axis)), 0, 1e-9);
  EXPECT_NEAR(f.septum.norm(), 1, 1e-9);
}

}  // namespace
}  // namespace metaeik::geometry

namespace metaeik::geometry {
namespace {

// The clinical crtdemo BiV (labels 1 LV endo, 2 RV endo, 3 other boundary; no base label).
TEST(EstimateAhaFrame, ClinicalBivMesh) {
  TetMesh mesh =
      read_mesh(std::string(METAEIK_SOURCE_DIR) + "/meshes/crtdemo_biv/crtdemo_biv_labeled_v42.vtk");
  mesh.set_point_labels("surface", mesh.point_labels("surface_label"));
  const Eigen::VectorXi s = mesh.point_labels("surface");
  const AhaFrame f = estimate_aha_frame(mesh);
  const Eigen::Vector3d axis = (f.base_center - f.apex).normalized();
  // Base centre at the top of the LV cavity, apex at the bottom of the whole heart, septum
  // towards the RV cavity.
  Eigen::Vector3d lv_c = Eigen::Vector3d::Zero(), rv_c = Eigen::Vector3d::Zero();
  int n_lv = 0, n_rv = 0;
  double t_min = INFINITY, t_lv_max = -INFINITY;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    const double t = (p - f.apex).dot(axis);
    t_min = std::min(t_min, t);
    if (s[i] == kLvEndo) lv_c += p, ++n_lv, t_lv_max = std::max(t_lv_max, t);
    if (s[i] == kRvEndo) rv_c += p, ++n_rv;
  }
  lv_c /= n_lv;
  rv_c /= n_rv;
  EXPECT_NEAR(t_lv_max, (f.base_center - f.apex).norm(), 1e-6);
  EXPECT_GT(t_min, -1.0);
  EXPECT_GT((rv_c - lv_c).normalized().dot(f.septum), 0.9);

  const Eigen::VectorXi aha = aha_segments(mesh, f);
  std::set<int> seen(aha.data(), aha.data() + aha.size());
  for (int k = 1; k <= 18; ++k) EXPECT_TRUE(seen.count(k)) << "segment " << k;
  int rv_wall = 0, rv_endo_free = 0, rv_endo_septal = 0;
  for (int i = 0; i < aha.size(); ++i) {
    rv_wall += aha[i] == 18;
    if (s[i] == kLvEndo) {
      EXPECT_NE(aha[i], 18) << "LV endocardium labelled RV free wall";
    }
    if (s[i] == kRvEndo) ++(aha[i] == 18 ? rv_endo_free : rv_endo_septal);
  }
  EXPECT_GT(rv_wall, 0.1 * aha.size());
  EXPECT_LT(rv_wall, 0.5 * aha.size());
  EXPECT_GT(rv_endo_free, rv_endo_septal);  // the free wall is the larger part of the RV endocardium
  EXPECT_GT(rv_endo_septal, 0);
}

}  // namespace
}  // namespace metaeik::geometry
