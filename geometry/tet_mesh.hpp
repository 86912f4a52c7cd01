#pragma once
// TetMesh: a linear tetrahedral mesh as plain arrays plus named point/cell data.

#include <Eigen/Core>
#include <map>
#include <string>

namespace metaeik::geometry {

using Points = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;  ///< #P×3, mm
using Tets = Eigen::Matrix<int, Eigen::Dynamic, 4, Eigen::RowMajor>;       ///< #T×4 point indices
using Triangles = Eigen::Matrix<int, Eigen::Dynamic, 3, Eigen::RowMajor>;  ///< #F×3 point indices
using ArrayValues = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Scalar type an array is stored with on disk (values are held as double in memory;
/// every supported type converts to double exactly, so write → read → write round-trips).
enum class ScalarType { kFloat64, kFloat32, kInt32, kInt64, kUInt8, kInt8, kInt16, kUInt16, kUInt32 };

/// A named data array: one row per point (or cell), one column per component.
struct DataArray {
  ArrayValues values;
  ScalarType type = ScalarType::kFloat64;

  Eigen::Index rows() const { return values.rows(); }
  Eigen::Index components() const { return values.cols(); }
};

/// Standard label values of the `surface` point array.
enum SurfaceLabel : int { kInterior = 0, kLvEndo = 1, kRvEndo = 2, kEpi = 3, kBase = 4 };

struct TetMesh {
  Points points;  ///< #P×3 coordinates in mm
  Tets tets;      ///< #T×4, positively oriented (det[p1−p0, p2−p0, p3−p0] > 0)
  std::map<std::string, DataArray> point_data;  ///< each #P×c
  std::map<std::string, DataArray> cell_data;   ///< each #T×c

  int num_points() const { return int(points.rows()); }
  int num_tets() const { return int(tets.rows()); }

  bool has_point_array(const std::string& name) const { return point_data.count(name) > 0; }
  /// Throws core::Error naming the array if it is missing or not a scalar.
  Eigen::VectorXd point_scalar(const std::string& name) const;
  /// Rounds a scalar array to int (labels).
  Eigen::VectorXi point_labels(const std::string& name) const;
  Eigen::VectorXd cell_scalar(const std::string& name) const;

  /// Adds or replaces a scalar/vector array (rows must match #P or #T).
  void set_point_array(const std::string& name, const ArrayValues& values,
                       ScalarType type = ScalarType::kFloat64);
  void set_point_labels(const std::string& name, const Eigen::VectorXi& labels);
  void set_cell_array(const std::string& name, const ArrayValues& values,
                      ScalarType type = ScalarType::kFloat64);
};

/// Signed volume of each tet (mm³): det[p1−p0, p2−p0, p3−p0] / 6.
Eigen::VectorXd tet_volumes(const Points& P, const Tets& T);

/// Mean-ratio quality of each tet in [0, 1] (1 = regular tetrahedron).
Eigen::VectorXd tet_quality(const Points& P, const Tets& T);

/// Checks a mesh that came from `source` (a file name, for messages): at least one tet, indices
/// in range, finite coordinates, no zero-volume tets, data arrays of the right length.
/// Inverted tets are re-oriented (two vertices swapped) with a warning. Throws core::Error.
void validate(TetMesh& mesh, const std::string& source);

}  // namespace metaeik::geometry
