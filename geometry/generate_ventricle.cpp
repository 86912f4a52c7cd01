// CGAL Mesh_3 meshing of the implicit ventricle (the only file that includes CGAL: it compiles
// slowly). The base rims (intersections of the base plane with the ellipsoids) are protected as
// 1D features so the sharp base edges are reproduced exactly.

#include <CGAL/Exact_predicates_inexact_constructions_kernel.h>
#include <CGAL/Labeled_mesh_domain_3.h>
#include <CGAL/Mesh_complex_3_in_triangulation_3.h>
#include <CGAL/Mesh_criteria_3.h>
#include <CGAL/Mesh_domain_with_polyline_features_3.h>
#include <CGAL/Mesh_triangulation_3.h>
#include <CGAL/make_mesh_3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <vector>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "geometry/generate.hpp"
#include "geometry/labels.hpp"

namespace metaeik::geometry {

namespace {

using K = CGAL::Exact_predicates_inexact_constructions_kernel;
using CgalPoint = K::Point_3;
using DomainBase = CGAL::Labeled_mesh_domain_3<K>;
using Domain = CGAL::Mesh_domain_with_polyline_features_3<DomainBase>;
using Tr = CGAL::Mesh_triangulation_3<Domain, CGAL::Default, CGAL::Sequential_tag>::type;
using C3t3 = CGAL::Mesh_complex_3_in_triangulation_3<Tr, Domain::Corner_index, Domain::Curve_index>;
using Criteria = CGAL::Mesh_criteria_3<Tr>;
using Polyline = std::vector<CgalPoint>;

// ---------------------------------------------------------------------------------------------
// Base-plane feature curves.

/// Section of an ellipsoid by the plane z = b: ellipse (cx + ax cos θ, cy + ay sin θ).
struct Ellipse2 {
  double cx, cy, ax, ay;
  Eigen::Vector2d at(double t) const { return {cx + ax * std::cos(t), cy + ay * std::sin(t)}; }
  Eigen::Vector2d normal(double t) const {
    return Eigen::Vector2d(std::cos(t) / ax, std::sin(t) / ay).normalized();
  }
  double value(const Eigen::Vector2d& p) const {
    return std::pow((p.x() - cx) / ax, 2) + std::pow((p.y() - cy) / ay, 2) - 1.0;
  }
};

bool section(const detail::Ellipsoid& e, double b, Ellipse2& out) {
  const double s2 = 1.0 - std::pow((b - e.center.z()) / e.radii.z(), 2);
  if (s2 <= 1e-6) return false;
  const double s = std::sqrt(s2);
  out = {e.center.x(), e.center.y(), e.radii.x() * s, e.radii.y() * s};
  return true;
}

/// Polylines (closed loops or arcs ending at corners) bounding the myocardium in the base plane.
std::vector<Polyline> base_polylines(const detail::VentricleShape& shape) {
  const double b = shape.base_z;
  std::vector<Ellipse2> curves;
  for (const auto* e : {&shape.lv_endo, &shape.lv_epi, &shape.rv_endo, &shape.rv_epi}) {
    if (!shape.biv && (e == &shape.rv_endo || e == &shape.rv_epi)) continue;
    Ellipse2 c;
    if (section(*e, b, c)) curves.push_back(c);
  }
  // Evaluate in a plane just below the base so the base half-space test is "inside".
  auto inside = [&](const Eigen::Vector2d& p) { return shape.in_myocardium({p.x(), p.y(), b - 1e-9}); };
  std::vector<std::vector<Eigen::Vector2d>> arcs;
  constexpr int kSamples = 360;
  for (std::size_t ci = 0; ci < curves.size(); ++ci) {
    const Ellipse2& c = curves[ci];
    const double eps = 1e-7 * (c.ax + c.ay);
    auto on_boundary = [&](double t) {
      const Eigen::Vector2d p = c.at(t), n = c.normal(t);
      return inside(p + eps * n) != inside(p - eps * n);
    };
    std::vector<double> ts(kSamples);
    std::vector<char> flag(kSamples);
    for (int k = 0; k < kSamples; ++k) {
      ts[k] = 2 * M_PI * k / kSamples;
      flag[k] = on_boundary(ts[k]);
    }
    // Transitions between consecutive samples (cyclic), refined to the crossing with another curve.
    std::vector<std::pair<double, bool>> cuts;  // (θ, boundary starts here)
    for (int k = 0; k < kSamples; ++k) {
      const int k1 = (k + 1) % kSamples;
      if (flag[k] == flag[k1]) continue;
      double lo = ts[k], hi = k1 == 0 ? 2 * M_PI : ts[k1];
      // The crossing curve: the other curve whose implicit value changes sign on [lo, hi].
      const Ellipse2* other = nullptr;
      for (std::size_t cj = 0; cj < curves.size(); ++cj)
        if (cj != ci && (curves[cj].value(c.at(lo)) < 0) != (curves[cj].value(c.at(hi)) < 0))
          other = &curves[cj];
      METAEIK_CHECK(other != nullptr, "generator: base-plane curves intersect in an unexpected way");
      const bool lo_neg = other->value(c.at(lo)) < 0;
      for (int it = 0; it < 100; ++it) {
        const double mid = 0.5 * (lo + hi);
        ((other->value(c.at(mid)) < 0) == lo_neg ? lo : hi) = mid;
      }
      cuts.push_back({0.5 * (lo + hi), flag[k1] != 0});
    }
    if (cuts.empty()) {
      if (!flag[0]) continue;
      std::vector<Eigen::Vector2d> loop;
      for (int k = 0; k < kSamples; ++k) loop.push_back(c.at(ts[k]));
      loop.push_back(loop.front());
      arcs.push_back(loop);
      continue;
    }
    for (std::size_t i = 0; i < cuts.size(); ++i) {
      if (!cuts[i].second) continue;
      const double t0 = cuts[i].first;
      double t1 = cuts[(i + 1) % cuts.size()].first;
      if (t1 <= t0) t1 += 2 * M_PI;
      std::vector<Eigen::Vector2d> arc{c.at(t0)};
      for (int k = 0; k < 2 * kSamples; ++k) {
        const double t = 2 * M_PI * k / kSamples;
        if (t > t0 + 1e-9 && t < t1 - 1e-9) arc.push_back(c.at(t));
      }
      arc.push_back(c.at(t1));
      arcs.push_back(arc);
    }
  }
  // Corners: make arc end points that meet coincide exactly.
  std::vector<Eigen::Vector2d> corners;
  for (auto& arc : arcs)
    for (auto* p : {&arc.front(), &arc.back()}) {
      bool snapped = false;
      for (const auto& q : corners)
        if ((*p - q).norm() < 1e-6) {
          *p = q;
          snapped = true;
        }
      if (!snapped) corners.push_back(*p);
    }
  std::vector<Polyline> polylines;
  for (const auto& arc : arcs) {
    Polyline line;
    for (const auto& p : arc) line.emplace_back(p.x(), p.y(), b);
    polylines.push_back(line);
  }
  return polylines;
}

// ---------------------------------------------------------------------------------------------

struct MeshResult {
  Points points;
  Tets tets;
};

/// Axis-aligned box holding every ellipsoid of the shape, cut at the base plane.
void bounding_box(const detail::VentricleShape& shape, Eigen::Vector3d& lo, Eigen::Vector3d& hi) {
  lo = -shape.lv_epi.radii;
  hi = shape.lv_epi.radii;
  if (shape.biv) {
    lo = lo.cwiseMin(shape.rv_epi.center - shape.rv_epi.radii);
    hi = hi.cwiseMax(shape.rv_epi.center + shape.rv_epi.radii);
  }
  hi.z() = std::min(hi.z(), shape.base_z);
}

/// Myocardial volume (mm³) by the midpoint rule on a 96³ grid over the bounding box (±1 %).
double grid_volume(const detail::VentricleShape& shape) {
  Eigen::Vector3d lo, hi;
  bounding_box(shape, lo, hi);
  constexpr int kN = 96;
  const Eigen::Vector3d step = (hi - lo) / kN;
  long inside = 0;
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j)
      for (int k = 0; k < kN; ++k)
        inside += shape.in_myocardium(lo + step.cwiseProduct(Eigen::Vector3d(i + 0.5, j + 0.5, k + 0.5)));
  return inside * step.prod();
}

MeshResult mesh_once(const detail::VentricleShape& shape, const GeneratorOptions& o, double size,
                     const std::vector<Polyline>& features) {
  // Bounding sphere of every ellipsoid involved.
  Eigen::Vector3d lo, hi;
  bounding_box(shape, lo, hi);
  const Eigen::Vector3d centre = 0.5 * (lo + hi);
  const double radius = 0.5 * (hi - lo).norm() * 1.1 + size;

  auto function = [&shape](const CgalPoint& p) { return shape.myocardium({p.x(), p.y(), p.z()}); };
  CGAL::Random rng(static_cast<unsigned int>(o.seed ^ (o.seed >> 32)));
  namespace params = CGAL::parameters;
  Domain domain(DomainBase::create_implicit_mesh_domain(
      function, K::Sphere_3(CgalPoint(centre.x(), centre.y(), centre.z()), radius * radius),
      params::relative_error_bound = 1e-7, params::p_rng = &rng));
  domain.add_features(features.begin(), features.end());

  Criteria criteria(params::edge_size = size, params::facet_angle = o.facet_angle, params::facet_size = size,
                    params::facet_distance = 0.1 * size,
                    params::cell_radius_edge_ratio = o.cell_radius_edge_ratio, params::cell_size = size);
  // Time limits of 0 = none: the default limits depend on wall-clock time and break determinism.
  CGAL::get_default_random() = CGAL::Random(0);
  C3t3 c3t3 = CGAL::make_mesh_3<C3t3>(domain, criteria, params::no_lloyd(), params::no_odt(),
                                      params::perturb(params::time_limit = 0, params::sliver_bound = 10),
                                      params::exude(params::time_limit = 0, params::sliver_bound = 10));

  // Number the vertices used by cells of the complex in order of first use.
  std::map<Tr::Vertex_handle, int> index;
  std::vector<std::array<int, 4>> cells;
  std::vector<Eigen::Vector3d> points;
  const auto& tr = c3t3.triangulation();
  for (auto c = c3t3.cells_in_complex_begin(); c != c3t3.cells_in_complex_end(); ++c) {
    std::array<int, 4> cell;
    for (int k = 0; k < 4; ++k) {
      const auto v = c->vertex(k);
      auto [it, inserted] = index.emplace(v, int(points.size()));
      if (inserted) {
        const auto p = tr.geom_traits().construct_point_3_object()(v->point());
        points.emplace_back(CGAL::to_double(p.x()), CGAL::to_double(p.y()), CGAL::to_double(p.z()));
      }
      cell[k] = it->second;
    }
    cells.push_back(cell);
  }
  MeshResult r;
  r.points.resize(points.size(), 3);
  for (std::size_t i = 0; i < points.size(); ++i) r.points.row(i) = points[i];
  r.tets.resize(cells.size(), 4);
  for (std::size_t t = 0; t < cells.size(); ++t)
    for (int k = 0; k < 4; ++k) r.tets(t, k) = cells[t][k];
  return r;
}

}  // namespace

TetMesh generate_ventricle(const GeneratorOptions& o) {
  check_generator_options(o);
  core::Stopwatch clock;
  const detail::VentricleShape shape(o);
  const std::vector<Polyline> features = base_polylines(shape);

  // Initial cell size from the myocardial volume V: about κ·V/h³ nodes, κ calibrated at 2k nodes on
  // the default shapes (the thin RV wall makes the BiV surface-heavier); then secant steps on
  // log N = a − p log h.
  const double volume = grid_volume(shape);
  const double nodes_per_volume = shape.biv ? 2.0 : 1.0;
  double size = std::cbrt(nodes_per_volume * volume / o.target_nodes);
  double exponent = 2.6;  // N ∝ h^-p, between surface- (2) and volume-dominated (3) meshes
  MeshResult best;
  double best_miss = INFINITY;
  double prev_size = 0, prev_n = 0, best_size = size;
  int passes = 0;
  for (int attempt = 1; attempt <= o.max_attempts; ++attempt) {
    core::Stopwatch pass_clock;
    MeshResult r = mesh_once(shape, o, size, features);
    ++passes;
    const double n = double(r.points.rows());
    const double miss = std::abs(n / o.target_nodes - 1.0);
    spdlog::info("mesh generate: pass {} cell size {:.3f} mm -> {} nodes, {} tets ({:.1f} s)", attempt, size,
                 r.points.rows(), r.tets.rows(), pass_clock.seconds());
    METAEIK_CHECK(r.tets.rows() > 0, "generator: CGAL produced no tetrahedra (cell size " << size << " mm)");
    if (miss < best_miss) {
      best_miss = miss;
      best_size = size;
      best = std::move(r);
    }
    if (miss <= o.node_tolerance) break;
    if (prev_n > 0 && std::abs(std::log(size / prev_size)) > 1e-3) {
      const double p = -std::log(n / prev_n) / std::log(size / prev_size);
      // Coarse meshes saturate: thin walls, the base rims and the surface angle bound need a
      // minimum number of nodes whatever the cell size, so larger cells stop helping.
      if (p < 0.5 && n > o.target_nodes) {
        spdlog::warn(
            "mesh generate: the node count no longer falls with the cell size (about {} nodes is the "
            "minimum for this shape)",
            int(n));
        break;
      }
      if (p > 1.5 && p < 4) exponent = p;
    }
    prev_size = size;
    prev_n = n;
    size *= std::pow(n / o.target_nodes, 1.0 / exponent);
  }
  if (best_miss > o.node_tolerance)
    spdlog::warn("mesh generate: {} nodes after {} passes, {:.0f} % from the target {}", best.points.rows(),
                 passes, 100 * best_miss, o.target_nodes);
  double thinnest =
      std::min(o.lv_epi_short_radius - o.lv_endo_short_radius, o.lv_epi_long_radius - o.lv_endo_long_radius);
  if (shape.biv) thinnest = std::min(thinnest, o.rv_wall_thickness);
  if (best_size > thinnest)
    spdlog::warn(
        "mesh generate: cell size {:.2f} mm exceeds the thinnest wall ({:.2f} mm); walls are one element "
        "thick and the volume is less accurate",
        best_size, thinnest);

  TetMesh mesh;
  mesh.points = std::move(best.points);
  mesh.tets = std::move(best.tets);
  validate(mesh, "generated " + o.shape + " mesh");
  mesh.set_point_labels("surface", generated_surface_labels(mesh, o));
  mesh.set_point_labels("aha", aha_segments(mesh, generated_aha_frame(o), generated_rv_free_wall(mesh, o)));
  spdlog::info("mesh generate: {} {} nodes, {} tets in {:.1f} s", o.shape, mesh.num_points(), mesh.num_tets(),
               clock.seconds());
  return mesh;
}

}  // namespace metaeik::geometry
