// Generator options, their checks and the implicit ventricle shape (no CGAL here; the mesher is
// in generate_ventricle.cpp).

#include "geometry/generate.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>

#include "core/error.hpp"

namespace metaeik::geometry {

namespace {

// Reports a bad option: key name and the rest of the message (e.g. "must be positive, got -1").
using Fail = std::function<void(const std::string& key, const std::string& message)>;

std::string str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_options(const GeneratorOptions& o, const Fail& fail) {
  auto positive = [&](const char* key, double v) {
    if (!(std::isfinite(v) && v > 0)) fail(key, "must be positive, got " + str(v));
  };
  auto smaller = [&](const char* key, double small, const char* big_key, double big) {
    if (!(small < big))
      fail(key, "(" + str(small) + ") must be smaller than '" + big_key + "' (" + str(big) + ")");
  };
  if (o.shape != "lv" && o.shape != "biv")
    fail("shape", "must be \"lv\" or \"biv\", got \"" + o.shape + "\"");
  if (o.target_nodes < 100)
    fail("target_nodes", "must be at least 100, got " + std::to_string(o.target_nodes));
  positive("lv_endo_short_radius", o.lv_endo_short_radius);
  positive("lv_endo_long_radius", o.lv_endo_long_radius);
  positive("lv_epi_short_radius", o.lv_epi_short_radius);
  positive("lv_epi_long_radius", o.lv_epi_long_radius);
  smaller("lv_endo_short_radius", o.lv_endo_short_radius, "lv_epi_short_radius", o.lv_epi_short_radius);
  smaller("lv_endo_long_radius", o.lv_endo_long_radius, "lv_epi_long_radius", o.lv_epi_long_radius);
  if (!(std::abs(o.base_z) < o.lv_endo_long_radius))
    fail("base_z", "(" + str(o.base_z) +
                       ") must lie strictly between -lv_endo_long_radius and lv_endo_long_radius (" +
                       str(o.lv_endo_long_radius) + ")");
  if (!(o.facet_angle > 0 && o.facet_angle <= 30))
    fail("facet_angle", "must lie in (0, 30] degrees, got " + str(o.facet_angle));
  if (!(o.cell_radius_edge_ratio >= 2))
    fail("cell_radius_edge_ratio", "must be at least 2, got " + str(o.cell_radius_edge_ratio));
  positive("node_tolerance", o.node_tolerance);
  if (o.max_attempts < 1) fail("max_attempts", "must be at least 1, got " + std::to_string(o.max_attempts));
  if (o.shape != "biv") return;
  positive("rv_endo_radius_x", o.rv_endo_radius_x);
  positive("rv_endo_radius_y", o.rv_endo_radius_y);
  positive("rv_endo_radius_z", o.rv_endo_radius_z);
  positive("rv_wall_thickness", o.rv_wall_thickness);
  if (!std::isfinite(o.rv_center_x)) fail("rv_center_x", "must be finite, got " + str(o.rv_center_x));
  if (!std::isfinite(o.rv_center_z)) fail("rv_center_z", "must be finite, got " + str(o.rv_center_z));
  // The RV cavity must reach outside the LV epicardium on the +x side at the RV centre height.
  const double rl = o.lv_epi_long_radius;
  const double zc = std::clamp(o.rv_center_z, -rl, rl);
  const double lv_x = o.lv_epi_short_radius * std::sqrt(1 - zc * zc / (rl * rl));
  if (!(o.rv_center_x + o.rv_endo_radius_x > lv_x + 0.5))
    fail("rv_endo_radius_x", "is too small for an RV cavity: rv_center_x + rv_endo_radius_x (" +
                                 str(o.rv_center_x + o.rv_endo_radius_x) +
                                 ") must exceed the LV epicardium x-extent (" + str(lv_x) +
                                 ") by more than 0.5 mm");
  if (!(o.rv_center_x - o.rv_endo_radius_x > -o.lv_epi_short_radius))
    fail("rv_center_x", "puts the RV behind the LV: rv_center_x - rv_endo_radius_x (" +
                            str(o.rv_center_x - o.rv_endo_radius_x) + ") must exceed -lv_epi_short_radius (" +
                            str(-o.lv_epi_short_radius) + ")");
  if (!(o.rv_center_z - o.rv_endo_radius_z < o.base_z))
    fail("rv_center_z", "puts the RV above the base: rv_center_z - rv_endo_radius_z (" +
                            str(o.rv_center_z - o.rv_endo_radius_z) + ") must be below base_z (" +
                            str(o.base_z) + ")");
}

// Volume of the part z ≤ h of the ellipsoid x²/a² + y²/a² + z²/c² ≤ 1:
// ∫_{−c}^{h} π a² (1 − z²/c²) dz = π a² (h − h³/(3c²) + 2c/3), with h clamped to [−c, c].
double ellipsoid_cap_volume(double a, double c, double h) {
  h = std::clamp(h, -c, c);
  return M_PI * a * a * (h - h * h * h / (3 * c * c) + 2 * c / 3);
}

}  // namespace

void check_generator_options(const GeneratorOptions& o) {
  check_options(o, [](const std::string& key, const std::string& message) {
    METAEIK_FAIL("generator option '" << key << "' " << message);
  });
}

void read_generator_options(core::JsonReader& r, GeneratorOptions& o) {
  for_each_generator_field([&](const char* key, auto member, const char*) {
    if constexpr (std::is_same_v<std::decay_t<decltype(o.*member)>, std::string>)
      r.get_choice(key, o.*member, {"lv", "biv"});  // the one string field: shape
    else
      r.get(key, o.*member);
  });
  check_options(o, [&r](const std::string& key, const std::string& message) {
    METAEIK_FAIL(r.error_prefix(key) << message);
  });
}

core::Json generator_to_json(const GeneratorOptions& o) {
  core::Json j = core::Json::object();
  for_each_generator_field([&](const char* key, auto member, const char*) { j[key] = o.*member; });
  return j;
}

double analytic_lv_cavity_volume(const GeneratorOptions& o) {
  return ellipsoid_cap_volume(o.lv_endo_short_radius, o.lv_endo_long_radius, o.base_z);
}

double analytic_lv_wall_volume(const GeneratorOptions& o) {
  return ellipsoid_cap_volume(o.lv_epi_short_radius, o.lv_epi_long_radius, o.base_z) -
         analytic_lv_cavity_volume(o);
}

namespace detail {

double Ellipsoid::value(const Eigen::Vector3d& p) const {
  return ((p - center).array() / radii.array()).square().sum() - 1.0;
}

double Ellipsoid::distance(const Eigen::Vector3d& p) const {
  const Eigen::Vector3d g = 2.0 * (p - center).array() / radii.array().square();
  const double gn = g.norm();
  return gn > 0 ? std::abs(value(p)) / gn : radii.minCoeff();
}

Eigen::Vector3d Ellipsoid::normal(const Eigen::Vector3d& p) const {
  const Eigen::Vector3d g = (p - center).array() / radii.array().square();
  const double gn = g.norm();
  return gn > 0 ? Eigen::Vector3d(g / gn) : Eigen::Vector3d::UnitZ();
}

VentricleShape::VentricleShape(const GeneratorOptions& o) : biv(o.shape == "biv"), base_z(o.base_z) {
  lv_endo.radii = {o.lv_endo_short_radius, o.lv_endo_short_radius, o.lv_endo_long_radius};
  lv_epi.radii = {o.lv_epi_short_radius, o.lv_epi_short_radius, o.lv_epi_long_radius};
  rv_endo.center = {o.rv_center_x, 0.0, o.rv_center_z};
  rv_endo.radii = {o.rv_endo_radius_x, o.rv_endo_radius_y, o.rv_endo_radius_z};
  // Free wall t thick at +x and at the sides (±y) and below; the back (−x, inside the LV) is not
  // grown, so the RV epicardium cannot bulge out behind the LV.
  const double t = o.rv_wall_thickness;
  rv_epi.center = rv_endo.center + Eigen::Vector3d(0.5 * t, 0, 0);
  rv_epi.radii = rv_endo.radii + Eigen::Vector3d(0.5 * t, t, t);
}

double VentricleShape::myocardium(const Eigen::Vector3d& p) const {
  // Boolean algebra on signed functions: max = intersection, min = union, minus = complement.
  double outer = lv_epi.value(p);
  double cavity = lv_endo.value(p);
  if (biv) {
    outer = std::min(outer, rv_epi.value(p));
    const double rv_cavity =
        std::max(rv_endo.value(p), -lv_epi.value(p));  // RV endo ellipsoid outside the LV
    cavity = std::min(cavity, rv_cavity);
  }
  return std::max({outer, -cavity, p.z() - base_z});
}

}  // namespace detail

}  // namespace metaeik::geometry
