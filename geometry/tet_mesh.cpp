#include "geometry/tet_mesh.hpp"

#include <spdlog/spdlog.h>

#include <Eigen/Geometry>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::geometry {

namespace {
const DataArray& find_array(const std::map<std::string, DataArray>& arrays, const std::string& name,
                            const char* kind) {
  auto it = arrays.find(name);
  METAEIK_CHECK(it != arrays.end(), "mesh has no " << kind << " array '" << name << "'");
  METAEIK_CHECK(it->second.components() == 1, kind << " array '" << name << "' has "
                                                   << it->second.components() << " components, expected 1");
  return it->second;
}
}  // namespace

Eigen::VectorXd TetMesh::point_scalar(const std::string& name) const {
  return find_array(point_data, name, "point").values.col(0);
}

Eigen::VectorXi TetMesh::point_labels(const std::string& name) const {
  const auto& a = find_array(point_data, name, "point");
  return a.values.col(0).array().round().cast<int>();
}

Eigen::VectorXd TetMesh::cell_scalar(const std::string& name) const {
  return find_array(cell_data, name, "cell").values.col(0);
}

void TetMesh::set_point_array(const std::string& name, const ArrayValues& values, ScalarType type) {
  METAEIK_CHECK(values.rows() == num_points(), "point array '" << name << "' has " << values.rows()
                                                               << " rows, mesh has " << num_points()
                                                               << " points");
  point_data[name] = DataArray{values, type};
}

void TetMesh::set_point_labels(const std::string& name, const Eigen::VectorXi& labels) {
  set_point_array(name, labels.cast<double>(), ScalarType::kInt32);
}

void TetMesh::set_cell_array(const std::string& name, const ArrayValues& values, ScalarType type) {
  METAEIK_CHECK(values.rows() == num_tets(), "cell array '" << name << "' has " << values.rows()
                                                            << " rows, mesh has " << num_tets() << " tets");
  cell_data[name] = DataArray{values, type};
}

Eigen::VectorXd tet_volumes(const Points& P, const Tets& T) {
  Eigen::VectorXd vol(T.rows());
  for (Eigen::Index t = 0; t < T.rows(); ++t) {
    const Eigen::Vector3d a = P.row(T(t, 1)) - P.row(T(t, 0));
    const Eigen::Vector3d b = P.row(T(t, 2)) - P.row(T(t, 0));
    const Eigen::Vector3d c = P.row(T(t, 3)) - P.row(T(t, 0));
    vol[t] = a.dot(b.cross(c)) / 6.0;
  }
  return vol;
}

Eigen::VectorXd tet_quality(const Points& P, const Tets& T) {
  // Mean ratio: 12 (3|V|)^(2/3) / sum of squared edge lengths.
  const Eigen::VectorXd vol = tet_volumes(P, T);
  Eigen::VectorXd q(T.rows());
  constexpr int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (Eigen::Index t = 0; t < T.rows(); ++t) {
    double sum_l2 = 0.0;
    for (const auto& e : kEdges) sum_l2 += (P.row(T(t, e[0])) - P.row(T(t, e[1]))).squaredNorm();
    q[t] = sum_l2 > 0 ? 12.0 * std::cbrt(9.0 * vol[t] * vol[t]) / sum_l2 : 0.0;
  }
  return q;
}

void validate(TetMesh& mesh, const std::string& source) {
  METAEIK_CHECK(mesh.num_tets() > 0, source << ": mesh has no tetrahedra");
  const int n = mesh.num_points();
  for (int i = 0; i < n; ++i)
    METAEIK_CHECK(mesh.points.row(i).allFinite(),
                  source << ": point " << i << " has a non-finite coordinate");
  for (int t = 0; t < mesh.num_tets(); ++t)
    for (int k = 0; k < 4; ++k) {
      const int v = mesh.tets(t, k);
      METAEIK_CHECK(v >= 0 && v < n, source << ": tet " << t << " references point " << v
                                            << ", out of range [0, " << n << ")");
    }
  for (const auto& [name, a] : mesh.point_data)
    METAEIK_CHECK(a.rows() == n,
                  source << ": point array '" << name << "' has " << a.rows() << " rows, expected " << n);
  for (const auto& [name, a] : mesh.cell_data)
    METAEIK_CHECK(a.rows() == mesh.num_tets(), source << ": cell array '" << name << "' has " << a.rows()
                                                      << " rows, expected " << mesh.num_tets());

  const Eigen::VectorXd vol = tet_volumes(mesh.points, mesh.tets);
  // Degenerate relative to the tet's own size: |V| <= 1e-12 * (longest edge)^3.
  int inverted = 0;
  for (int t = 0; t < mesh.num_tets(); ++t) {
    double lmax = 0.0;
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b)
        lmax = std::max(lmax, (mesh.points.row(mesh.tets(t, a)) - mesh.points.row(mesh.tets(t, b))).norm());
    METAEIK_CHECK(std::abs(vol[t]) > 1e-12 * lmax * lmax * lmax,
                  source << ": tet " << t << " has zero volume (degenerate)");
    if (vol[t] < 0) {
      std::swap(mesh.tets(t, 2), mesh.tets(t, 3));
      ++inverted;
    }
  }
  if (inverted > 0) spdlog::warn("{}: re-oriented {} inverted tetrahedra", source, inverted);
}

}  // namespace metaeik::geometry
