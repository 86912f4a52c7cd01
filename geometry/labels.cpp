#include "geometry/labels.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "geometry/surface.hpp"

namespace metaeik::geometry {

namespace {

// Uniform-grid nearest-neighbour search over a fixed point subset.
class PointGrid {
 public:
  PointGrid(const Points& P, std::vector<int> ids) : P_(P), ids_(std::move(ids)) {
    lo_ = Eigen::Vector3d::Constant(std::numeric_limits<double>::infinity());
    Eigen::Vector3d hi = -lo_;
    for (int i : ids_) {
      lo_ = lo_.cwiseMin(P.row(i).transpose());
      hi = hi.cwiseMax(P.row(i).transpose());
    }
    const Eigen::Vector3d ext = (hi - lo_).cwiseMax(1e-9);
    // About one point per cell of a cube grid over the bounding box.
    cell_ = std::max(std::cbrt(ext.prod() / std::max<std::size_t>(ids_.size(), 1)), ext.maxCoeff() / 200);
    for (int d = 0; d < 3; ++d) dims_[d] = int(ext[d] / cell_) + 1;
    start_.assign(std::size_t(dims_[0]) * dims_[1] * dims_[2] + 1, 0);
    for (int i : ids_) ++start_[cell_of(P.row(i).transpose()) + 1];
    for (std::size_t c = 1; c < start_.size(); ++c) start_[c] += start_[c - 1];
    items_.resize(ids_.size());
    std::vector<int> fill(start_.begin(), start_.end() - 1);
    for (int i : ids_) items_[fill[cell_of(P.row(i).transpose())]++] = i;
  }

  bool empty() const { return ids_.empty(); }

  /// Index (into P) of the nearest subset point to x.
  int nearest(const Eigen::Vector3d& x) const {
    int c[3];
    for (int d = 0; d < 3; ++d) c[d] = std::clamp(int((x[d] - lo_[d]) / cell_), 0, dims_[d] - 1);
    int best = -1;
    double best_d2 = std::numeric_limits<double>::infinity();
    const int max_r = std::max({dims_[0], dims_[1], dims_[2]});
    for (int r = 0; r <= max_r; ++r) {
      for (int i = c[0] - r; i <= c[0] + r; ++i)
        for (int j = c[1] - r; j <= c[1] + r; ++j)
          for (int k = c[2] - r; k <= c[2] + r; ++k) {
            if (std::max({std::abs(i - c[0]), std::abs(j - c[1]), std::abs(k - c[2])}) != r) continue;
            if (i < 0 || j < 0 || k < 0 || i >= dims_[0] || j >= dims_[1] || k >= dims_[2]) continue;
            const std::size_t cell = (std::size_t(i) * dims_[1] + j) * dims_[2] + k;
            for (int s = start_[cell]; s < start_[cell + 1]; ++s) {
              const double d2 = (P_.row(items_[s]).transpose() - x).squaredNorm();
              if (d2 < best_d2 || (d2 == best_d2 && items_[s] < best)) {
                best_d2 = d2;
                best = items_[s];
              }
            }
          }
      // Points in shells beyond r differ from x by at least r·cell_ in some coordinate.
      if (best >= 0 && std::sqrt(best_d2) <= r * cell_) break;
    }
    return best;
  }

 private:
  std::size_t cell_of(const Eigen::Vector3d& x) const {
    int c[3];
    for (int d = 0; d < 3; ++d) c[d] = std::clamp(int((x[d] - lo_[d]) / cell_), 0, dims_[d] - 1);
    return (std::size_t(c[0]) * dims_[1] + c[1]) * dims_[2] + c[2];
  }

  const Points& P_;
  std::vector<int> ids_;
  Eigen::Vector3d lo_;
  double cell_ = 1.0;
  int dims_[3] = {1, 1, 1};
  std::vector<int> start_, items_;
};

std::vector<int> nodes_with_label(const Eigen::VectorXi& labels, int value) {
  std::vector<int> ids;
  for (int i = 0; i < labels.size(); ++i)
    if (labels[i] == value) ids.push_back(i);
  return ids;
}

int priority(int label) {
  switch (label) {
    case kBase:
      return 4;
    case kLvEndo:
      return 3;
    case kRvEndo:
      return 2;
    case kEpi:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

std::vector<bool> rv_free_wall_nodes(const TetMesh& mesh) {
  std::vector<bool> rv(mesh.num_points(), false);
  if (!mesh.has_point_array("surface") || mesh.num_tets() == 0) return rv;
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  const std::vector<int> lv_ids = nodes_with_label(surface, kLvEndo),
                         rv_ids = nodes_with_label(surface, kRvEndo);
  if (lv_ids.empty() || rv_ids.empty()) return rv;

  // Outward (out of the myocardium, i.e. into the cavity) normals at RV-endo nodes.
  const Triangles F = boundary_faces(mesh.tets);
  const Points FN = face_normals(mesh.points, F);
  const Eigen::VectorXd FA = face_areas(mesh.points, F);
  Points normal = Points::Zero(mesh.num_points(), 3);
  for (int f = 0; f < F.rows(); ++f)
    for (int k = 0; k < 3; ++k) normal.row(F(f, k)) += FA[f] * FN.row(f);

  const PointGrid lv(mesh.points, lv_ids), rvg(mesh.points, rv_ids);
  constexpr int kSteps = 12;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    const Eigen::Vector3d q_lv = mesh.points.row(lv.nearest(p));
    const Eigen::Vector3d q_rv = mesh.points.row(rvg.nearest(p));
    if ((q_rv - p).norm() >= (q_lv - p).norm()) continue;
    for (int s = 1; s < kSteps; ++s) {
      const Eigen::Vector3d x = p + (double(s) / kSteps) * (q_lv - p);
      const int r = rvg.nearest(x);
      if ((x - mesh.points.row(r).transpose()).dot(normal.row(r)) > 0) {
        rv[i] = true;
        break;
      }
    }
  }
  return rv;
}

std::vector<bool> generated_rv_free_wall(const TetMesh& mesh, const GeneratorOptions& options) {
  const detail::VentricleShape shape(options);
  std::vector<bool> rv(mesh.num_points(), false);
  if (!shape.biv) return rv;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d p = mesh.points.row(i);
    rv[i] = shape.lv_epi.value(p) > 0 && shape.lv_epi.distance(p) > 0.01;
  }
  return rv;
}

namespace {

Eigen::Vector3d unit(const Eigen::Vector3d& v, const char* what) {
  const double n = v.norm();
  METAEIK_CHECK(n > 1e-12 && std::isfinite(n), "AHA frame: " << what << " has zero length");
  return v / n;
}

}  // namespace

Eigen::VectorXi node_labels_from_faces(int num_points, const Triangles& F,
                                       const std::vector<int>& face_labels) {
  METAEIK_CHECK(std::size_t(F.rows()) == face_labels.size(),
                "node_labels_from_faces: " << F.rows() << " faces but " << face_labels.size() << " labels");
  Eigen::VectorXi labels = Eigen::VectorXi::Zero(num_points);
  for (int f = 0; f < F.rows(); ++f)
    for (int k = 0; k < 3; ++k) {
      int& l = labels[F(f, k)];
      if (priority(face_labels[f]) > priority(l)) l = face_labels[f];
    }
  return labels;
}

Eigen::VectorXi generated_surface_labels(const TetMesh& mesh, const GeneratorOptions& options) {
  const detail::VentricleShape shape(options);
  const Triangles F = boundary_faces(mesh.tets);
  const Points N = face_normals(mesh.points, F);
  std::vector<int> face_labels(F.rows());
  for (int f = 0; f < F.rows(); ++f) {
    const Eigen::Vector3d a = mesh.points.row(F(f, 0)), b = mesh.points.row(F(f, 1)),
                          c = mesh.points.row(F(f, 2));
    const Eigen::Vector3d centroid = (a + b + c) / 3.0, n = N.row(f);
    const double edge = std::max({(b - a).norm(), (c - b).norm(), (a - c).norm()});
    double best = std::numeric_limits<double>::infinity();
    int label = kEpi;
    auto consider = [&](double distance, const Eigen::Vector3d& surface_normal, int l) {
      const double cost = distance + 0.5 * edge * (1.0 - std::abs(n.dot(surface_normal)));
      if (cost < best) {
        best = cost;
        label = l;
      }
    };
    consider(shape.lv_endo.distance(centroid), shape.lv_endo.normal(centroid), kLvEndo);
    const bool in_rv_cavity = shape.biv && shape.rv_endo.value(centroid) < 0;
    consider(shape.lv_epi.distance(centroid), shape.lv_epi.normal(centroid), in_rv_cavity ? kRvEndo : kEpi);
    consider(std::abs(centroid.z() - shape.base_z), Eigen::Vector3d::UnitZ(), kBase);
    if (shape.biv) {
      consider(shape.rv_endo.distance(centroid), shape.rv_endo.normal(centroid), kRvEndo);
      consider(shape.rv_epi.distance(centroid), shape.rv_epi.normal(centroid), kEpi);
    }
    face_labels[f] = label;
  }
  return node_labels_from_faces(mesh.num_points(), F, face_labels);
}

AhaFrame generated_aha_frame(const GeneratorOptions& o) {
  AhaFrame frame;
  frame.apex = {0, 0, -o.lv_epi_long_radius};
  frame.base_center = {0, 0, o.base_z};
  frame.septum = Eigen::Vector3d::UnitX();
  frame.apex_fraction = (o.lv_epi_long_radius - o.lv_endo_long_radius) / (o.base_z + o.lv_epi_long_radius);
  return frame;
}

AhaFrame estimate_aha_frame(const TetMesh& mesh) {
  const Eigen::VectorXi surface = mesh.point_labels("surface");
  const std::vector<int> endo = nodes_with_label(surface, kLvEndo);
  METAEIK_CHECK(endo.size() >= 10, "AHA frame: the mesh has "
                                       << endo.size()
                                       << " LV-endocardium nodes (surface label 1), need at least 10");
  Eigen::Vector3d c = Eigen::Vector3d::Zero();
  for (int i : endo) c += mesh.points.row(i).transpose();
  c /= double(endo.size());
  Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();
  for (int i : endo) {
    const Eigen::Vector3d d = mesh.points.row(i).transpose() - c;
    cov += d * d.transpose();
  }
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig(cov);
  Eigen::Vector3d axis = eig.eigenvectors().col(2);  // largest eigenvalue: the long axis

  // Orientation apex → base.
  const std::vector<int> base = nodes_with_label(surface, kBase);
  if (!base.empty()) {
    Eigen::Vector3d b = Eigen::Vector3d::Zero();
    for (int i : base) b += mesh.points.row(i).transpose();
    b /= double(base.size());
    if ((b - c).dot(axis) < 0) axis = -axis;
  } else {
    // The base end of the cavity is the wider one: compare mean radii of the top and bottom quarters.
    double tmin = INFINITY, tmax = -INFINITY;
    for (int i : endo) {
      const double t = (mesh.points.row(i).transpose() - c).dot(axis);
      tmin = std::min(tmin, t);
      tmax = std::max(tmax, t);
    }
    double r_top = 0, r_bottom = 0;
    int n_top = 0, n_bottom = 0;
    for (int i : endo) {
      const Eigen::Vector3d d = mesh.points.row(i).transpose() - c;
      const double t = d.dot(axis), r = (d - t * axis).norm();
      if (t > tmax - 0.25 * (tmax - tmin)) r_top += r, ++n_top;
      if (t < tmin + 0.25 * (tmax - tmin)) r_bottom += r, ++n_bottom;
    }
    if (n_top > 0 && n_bottom > 0 && r_top / n_top < r_bottom / n_bottom) axis = -axis;
  }

  double tmin = INFINITY, tmax = -INFINITY;
  std::vector<double> radii;
  for (int i : endo) {
    const Eigen::Vector3d d = mesh.points.row(i).transpose() - c;
    const double t = d.dot(axis);
    tmin = std::min(tmin, t);
    tmax = std::max(tmax, t);
    radii.push_back((d - t * axis).norm());
  }
  std::nth_element(radii.begin(), radii.begin() + radii.size() / 2, radii.end());
  const double near_axis = 0.5 * radii[radii.size() / 2];
  // Apex: the lowest node within half the median cavity radius of the axis.
  double t_apex = tmin;
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d d = mesh.points.row(i).transpose() - c;
    const double t = d.dot(axis);
    if ((d - t * axis).norm() <= near_axis) t_apex = std::min(t_apex, t);
  }

  AhaFrame frame;
  frame.apex = c + t_apex * axis;
  frame.base_center = c + tmax * axis;
  frame.apex_fraction = (tmax > t_apex) ? (tmin - t_apex) / (tmax - t_apex) : 0.0;
  const std::vector<int> rv = nodes_with_label(surface, kRvEndo);
  Eigen::Vector3d septum = Eigen::Vector3d::UnitX();
  if (!rv.empty()) {
    Eigen::Vector3d r = Eigen::Vector3d::Zero();
    for (int i : rv) r += mesh.points.row(i).transpose();
    septum = r / double(rv.size()) - c;
  }
  septum -= septum.dot(axis) * axis;
  if (septum.norm() < 1e-9) septum = Eigen::Vector3d::UnitY() - axis.y() * axis;
  frame.septum = septum.normalized();
  return frame;
}

Eigen::VectorXi aha_segments(const TetMesh& mesh, const AhaFrame& frame) {
  return aha_segments(mesh, frame, rv_free_wall_nodes(mesh));
}

Eigen::VectorXi aha_segments(const TetMesh& mesh, const AhaFrame& frame, const std::vector<bool>& rv) {
  METAEIK_CHECK(rv.size() == std::size_t(mesh.num_points()), "aha_segments: rv_free_wall has "
                                                                 << rv.size() << " entries, mesh has "
                                                                 << mesh.num_points() << " points");
  const Eigen::Vector3d axis_vec = frame.base_center - frame.apex;
  const double length = axis_vec.norm();
  const Eigen::Vector3d axis = unit(axis_vec, "long axis (base_center - apex)");
  const Eigen::Vector3d septum =
      unit(frame.septum - frame.septum.dot(axis) * axis, "septum direction perpendicular to the long axis");
  const Eigen::Vector3d anterior = axis.cross(septum);
  METAEIK_CHECK(frame.apex_fraction >= 0 && frame.apex_fraction < 1,
                "AHA frame: apex_fraction must lie in [0, 1), got " << frame.apex_fraction);

  Eigen::VectorXi aha(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) {
    if (rv[i]) {
      aha[i] = 18;
      continue;
    }
    const Eigen::Vector3d d = mesh.points.row(i).transpose() - frame.apex;
    const double t = d.dot(axis) / length;
    if (t < frame.apex_fraction) {
      aha[i] = 17;
      continue;
    }
    const double u = std::clamp((t - frame.apex_fraction) / (1 - frame.apex_fraction), 0.0, 1.0);
    // Screen coordinates of the bull's eye: x towards the lateral wall (−septum), y anterior.
    double angle = std::atan2(d.dot(anterior), -d.dot(septum)) * 180.0 / M_PI;
    if (angle < 0) angle += 360.0;
    if (u < 1.0 / 3.0) {
      // Apical ring: 90° sectors centred on lateral (0°), anterior, septal, inferior.
      static constexpr int kApical[4] = {16, 13, 14, 15};
      aha[i] = kApical[int(std::fmod(angle + 45.0, 360.0) / 90.0) % 4];
    } else {
      // 60° sectors from 0°: anterolateral, anterior, anteroseptal, inferoseptal, inferior, inferolateral.
      static constexpr int kRing[6] = {6, 1, 2, 3, 4, 5};
      aha[i] = kRing[int(angle / 60.0) % 6] + (u < 2.0 / 3.0 ? 6 : 0);
    }
  }
  return aha;
}

}  // namespace metaeik::geometry
