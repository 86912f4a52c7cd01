#include "geometry/surface.hpp"

#include <Eigen/Geometry>
#include <algorithm>
#include <array>

namespace metaeik::geometry {

namespace {

// Outward faces of a positively oriented tet, indexed by the opposite local vertex:
// orientation(face, opposite) is an odd permutation of (0, 1, 2, 3), hence negative.
constexpr int kFaces[4][3] = {{1, 2, 3}, {0, 3, 2}, {0, 1, 3}, {0, 2, 1}};

struct FaceRef {
  std::array<int, 3> key;  // sorted point indices
  int owner;               // tet * 4 + opposite local vertex
};

// Tet-local face ids (tet * 4 + local) of the faces that occur exactly once, ascending.
std::vector<int> single_faces(const Tets& T) {
  std::vector<FaceRef> faces;
  faces.reserve(4 * T.rows());
  for (int t = 0; t < T.rows(); ++t)
    for (int f = 0; f < 4; ++f) {
      std::array<int, 3> key = {T(t, kFaces[f][0]), T(t, kFaces[f][1]), T(t, kFaces[f][2])};
      std::sort(key.begin(), key.end());
      faces.push_back({key, 4 * t + f});
    }
  std::sort(faces.begin(), faces.end(), [](const FaceRef& a, const FaceRef& b) {
    return a.key != b.key ? a.key < b.key : a.owner < b.owner;
  });
  std::vector<int> single;
  for (std::size_t i = 0; i < faces.size();) {
    std::size_t j = i + 1;
    while (j < faces.size() && faces[j].key == faces[i].key) ++j;
    if (j - i == 1) single.push_back(faces[i].owner);
    i = j;
  }
  std::sort(single.begin(), single.end());
  return single;
}

}  // namespace

Triangles boundary_faces(const Tets& T) {
  const std::vector<int> single = single_faces(T);
  Triangles F(single.size(), 3);
  for (std::size_t i = 0; i < single.size(); ++i) {
    const int t = single[i] / 4, f = single[i] % 4;
    for (int k = 0; k < 3; ++k) F(i, k) = T(t, kFaces[f][k]);
  }
  return F;
}

std::vector<int> boundary_face_tets(const Tets& T) {
  std::vector<int> owners = single_faces(T);
  for (int& o : owners) o /= 4;
  return owners;
}

std::vector<int> boundary_nodes(const Tets& T) {
  const Triangles F = boundary_faces(T);
  std::vector<int> nodes(F.data(), F.data() + F.size());
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

Points face_normals(const Points& P, const Triangles& F) {
  Points N(F.rows(), 3);
  for (Eigen::Index i = 0; i < F.rows(); ++i) {
    const Eigen::Vector3d a = P.row(F(i, 0)), b = P.row(F(i, 1)), c = P.row(F(i, 2));
    const Eigen::Vector3d n = (b - a).cross(c - a);
    const double len = n.norm();
    N.row(i) = len > 0 ? Eigen::Vector3d(n / len) : Eigen::Vector3d::Zero();
  }
  return N;
}

Eigen::VectorXd face_areas(const Points& P, const Triangles& F) {
  Eigen::VectorXd A(F.rows());
  for (Eigen::Index i = 0; i < F.rows(); ++i) {
    const Eigen::Vector3d a = P.row(F(i, 0)), b = P.row(F(i, 1)), c = P.row(F(i, 2));
    A[i] = 0.5 * (b - a).cross(c - a).norm();
  }
  return A;
}

}  // namespace metaeik::geometry
