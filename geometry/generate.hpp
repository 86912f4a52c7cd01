#pragma once
// Synthetic ventricles meshed with CGAL Mesh_3 from implicit (ellipsoid) surfaces.
//
// LV: truncated prolate-ellipsoid shell, default = the Land et al. 2015 benchmark LV
// (endocardium radii 7/17 mm, epicardium 10/20 mm, apex towards −z, truncated at z = 5 mm).
// BiV: the LV plus an RV: RV cavity = (RV endo ellipsoid) minus (LV epi ellipsoid), so the
// septum is LV wall shared by both cavities and the cavity is a crescent wrapping the LV on the
// +x side; RV epicardium = RV endo ellipsoid grown by rv_wall_thickness t at +x, ±y and −z
// (semi-axes + (t/2, t, t), centre moved t/2 towards +x, so nothing grows behind the LV); same
// base plane.
// All ellipsoids are axis-aligned; the LV ones are centred at the origin.

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

struct GeneratorOptions {
  std::string shape = "lv";  ///< "lv" or "biv"
  int target_nodes = 2000;   ///< wanted node count (≥ 100); the result is within ~10 % of it
  std::uint64_t seed = 0;    ///< seeds the mesher's initial surface points; same seed ⇒ same mesh

  double lv_endo_short_radius = 7.0;  ///< mm, LV endocardium radius in x and y
  double lv_endo_long_radius = 17.0;  ///< mm, LV endocardium radius in z
  double lv_epi_short_radius = 10.0;  ///< mm, LV epicardium radius in x and y
  double lv_epi_long_radius = 20.0;   ///< mm, LV epicardium radius in z
  double base_z = 5.0;                ///< mm, base plane; tissue is kept where z ≤ base_z

  // biv only: RV endocardium ellipsoid (centre (rv_center_x, 0, rv_center_z), semi-axes below).
  double rv_center_x = 4.0;        ///< mm, offset of the RV towards +x (the septum side)
  double rv_center_z = 0.0;        ///< mm
  double rv_endo_radius_x = 12.0;  ///< mm, RV cavity reach in x (free wall at rv_center_x + this)
  double rv_endo_radius_y = 11.0;  ///< mm, RV width (how far the crescent wraps round the LV)
  double rv_endo_radius_z = 15.0;  ///< mm, RV length (RV apex at rv_center_z − this)
  double rv_wall_thickness = 3.0;  ///< mm, RV free-wall thickness

  // Mesh quality (rarely changed).
  double facet_angle = 25.0;            ///< degrees, lower bound on surface triangle angles
  double cell_radius_edge_ratio = 3.0;  ///< upper bound on tet circumradius / shortest edge
  double node_tolerance = 0.1;  ///< re-mesh (at most max_attempts times) while |N/N_target − 1| exceeds this
  int max_attempts = 4;         ///< meshing passes to hit target_nodes
};

/// The one list of GeneratorOptions' fields: visit(key, member pointer, help) for each, in order. The
/// config reader (read_generator_options), the writer (generator_to_json) and the `mesh generate` flags
/// (--key-with-dashes) are all made from it, so a new option is one line here.
template <class Visit>
void for_each_generator_field(Visit&& visit) {
  using O = GeneratorOptions;
  visit("shape", &O::shape, "lv or biv");
  visit("target_nodes", &O::target_nodes, "Target node count (>= 100)");
  visit("seed", &O::seed, "Seed of the mesher (same seed => identical mesh)");
  visit("lv_endo_short_radius", &O::lv_endo_short_radius, "LV endocardium radius in x and y (mm)");
  visit("lv_endo_long_radius", &O::lv_endo_long_radius, "LV endocardium radius in z (mm)");
  visit("lv_epi_short_radius", &O::lv_epi_short_radius, "LV epicardium radius in x and y (mm)");
  visit("lv_epi_long_radius", &O::lv_epi_long_radius, "LV epicardium radius in z (mm)");
  visit("base_z", &O::base_z, "Base plane z (mm); tissue kept below it");
  visit("rv_center_x", &O::rv_center_x, "biv: RV ellipsoid centre x (mm)");
  visit("rv_center_z", &O::rv_center_z, "biv: RV ellipsoid centre z (mm)");
  visit("rv_endo_radius_x", &O::rv_endo_radius_x, "biv: RV endocardium semi-axis x (mm)");
  visit("rv_endo_radius_y", &O::rv_endo_radius_y, "biv: RV endocardium semi-axis y (mm)");
  visit("rv_endo_radius_z", &O::rv_endo_radius_z, "biv: RV endocardium semi-axis z (mm)");
  visit("rv_wall_thickness", &O::rv_wall_thickness, "biv: RV free-wall thickness (mm)");
  visit("facet_angle", &O::facet_angle, "Lower bound on surface triangle angles (degrees)");
  visit("cell_radius_edge_ratio", &O::cell_radius_edge_ratio,
        "Upper bound on tet circumradius / shortest edge");
  visit("node_tolerance", &O::node_tolerance, "Accepted relative miss of the node count");
  visit("max_attempts", &O::max_attempts, "Meshing passes to hit the node count");
}

/// Throws core::Error naming the option when options are invalid (non-positive radius, endo not
/// inside epi, base plane outside the cavity, target_nodes < 100, unknown shape, ...).
void check_generator_options(const GeneratorOptions& options);

/// Reads the fields above from `r` (same key names; absent keys keep their defaults) and checks
/// them. Does not call r.finish() — the caller does, so options can share an object with others.
void read_generator_options(core::JsonReader& r, GeneratorOptions& options);

/// Every field under its config key.
core::Json generator_to_json(const GeneratorOptions& options);

/// Meshes the ventricle (single-threaded, deterministic for a seed). Points in mm, tets positively
/// oriented, with point arrays `surface` (labels.hpp) and `aha` (17 LV segments + 18 RV free wall).
TetMesh generate_ventricle(const GeneratorOptions& options);

/// Analytic volumes (mm³) of the truncated LV ellipsoids: the LV cavity and the LV wall (the
/// whole myocardium for shape "lv"). Land defaults: cavity 2492.1, wall 3234.7.
double analytic_lv_cavity_volume(const GeneratorOptions& options);
double analytic_lv_wall_volume(const GeneratorOptions& options);

namespace detail {
/// Axis-aligned ellipsoid: value(p) = Σ ((p − centre) / radii)² − 1 (< 0 inside).
struct Ellipsoid {
  Eigen::Vector3d center = Eigen::Vector3d::Zero();
  Eigen::Vector3d radii = Eigen::Vector3d::Ones();
  double value(const Eigen::Vector3d& p) const;
  /// First-order distance to the surface, |value| / |∇value| (mm); exact on a sphere.
  double distance(const Eigen::Vector3d& p) const;
  /// Unit outward normal direction of the level set through p.
  Eigen::Vector3d normal(const Eigen::Vector3d& p) const;
};

/// The implicit surfaces of a generated ventricle.
struct VentricleShape {
  explicit VentricleShape(const GeneratorOptions& options);
  bool biv = false;
  Ellipsoid lv_endo, lv_epi, rv_endo, rv_epi;
  double base_z = 0.0;
  /// < 0 inside the myocardium, > 0 outside (only the sign is meaningful).
  double myocardium(const Eigen::Vector3d& p) const;
  bool in_myocardium(const Eigen::Vector3d& p) const { return myocardium(p) < 0; }
};
}  // namespace detail

}  // namespace metaeik::geometry
