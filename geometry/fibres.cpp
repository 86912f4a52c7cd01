#include "geometry/fibres.hpp"

#include <Eigen/Eigenvalues>

#include "core/error.hpp"

namespace metaeik::geometry {

Points tet_fibres(const TetMesh& mesh, const ArrayValues& point_fibres, const std::string& what) {
  METAEIK_CHECK(point_fibres.rows() == mesh.num_points() && point_fibres.cols() == 3,
                what << " is " << point_fibres.rows() << "×" << point_fibres.cols() << ", expected "
                     << mesh.num_points() << "×3");
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d v = point_fibres.row(i).transpose();
    METAEIK_CHECK(v.allFinite() && v.norm() > 1e-12, what << " at node " << i << " is zero or not finite");
  }
  Points f(mesh.num_tets(), 3);
  for (int t = 0; t < mesh.num_tets(); ++t) {
    Eigen::Matrix3d s = Eigen::Matrix3d::Zero();
    for (int k = 0; k < 4; ++k) {
      const Eigen::Vector3d v = point_fibres.row(mesh.tets(t, k)).transpose().normalized();
      s += v * v.transpose();
    }
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig;
    eig.computeDirect(s);
    f.row(t) = eig.eigenvectors().col(2).transpose();
  }
  return f;
}

}  // namespace metaeik::geometry
