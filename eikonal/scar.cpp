#include "eikonal/scar.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "eikonal/random_draws.hpp"

namespace metaeik::eikonal {

namespace {

/// Undirected tet edges as an adjacency list with lengths (mm).
std::vector<std::vector<std::pair<int, double>>> edge_adjacency(const geometry::TetMesh& mesh) {
  std::vector<std::vector<int>> nbrs(mesh.num_points());
  static const int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (int t = 0; t < mesh.num_tets(); ++t)
    for (const auto& e : kEdges) {
      const int a = mesh.tets(t, e[0]), b = mesh.tets(t, e[1]);
      nbrs[a].push_back(b);
      nbrs[b].push_back(a);
    }
  std::vector<std::vector<std::pair<int, double>>> adj(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) {
    auto& n = nbrs[i];
    std::sort(n.begin(), n.end());
    n.erase(std::unique(n.begin(), n.end()), n.end());
    adj[i].reserve(n.size());
    for (int j : n) adj[i].emplace_back(j, (mesh.points.row(i) - mesh.points.row(j)).norm());
  }
  return adj;
}

}  // namespace

Eigen::VectorXi aha_scar_mask(const geometry::TetMesh& mesh, const std::vector<int>& segments) {
  METAEIK_CHECK(mesh.has_point_array("aha"), "mesh has no 'aha' point array for an AHA-segment scar");
  const Eigen::VectorXi aha = mesh.point_labels("aha");
  const std::set<int> group(segments.begin(), segments.end());
  Eigen::VectorXi mask(aha.size());
  for (Eigen::Index i = 0; i < aha.size(); ++i) mask[i] = group.count(aha[i]) ? 1 : 0;
  return mask;
}

Eigen::VectorXi blob_scar_mask(const geometry::TetMesh& mesh, const BlobOptions& options,
                               std::uint64_t seed) {
  METAEIK_CHECK(options.bumps >= 1, "blob scar: bumps must be at least 1, got " << options.bumps);
  METAEIK_CHECK(options.min_radius > 0 && options.max_radius >= options.min_radius,
                "blob scar: need 0 < min_radius <= max_radius, got " << options.min_radius << " and "
                                                                     << options.max_radius);
  METAEIK_CHECK(mesh.num_points() > 0, "blob scar: empty mesh");
  core::Rng rng = core::make_rng(seed);
  const int seed_node = int(detail::uniform_index(rng, mesh.num_points()));
  std::vector<Eigen::Vector3d> centres;
  std::vector<double> radii;
  const Eigen::Vector3d c0 = mesh.points.row(seed_node).transpose();
  for (int k = 0; k < options.bumps; ++k) {
    const double r = options.min_radius + (options.max_radius - options.min_radius) * detail::uniform01(rng);
    Eigen::Vector3d c = c0;
    if (k > 0) {
      // Uniform direction, distance uniform in [0, r_0).
      Eigen::Vector3d d(detail::standard_normal(rng), detail::standard_normal(rng),
                        detail::standard_normal(rng));
      const double n = d.norm();
      if (n > 0) d /= n;
      c += d * radii[0] * detail::uniform01(rng);
    }
    centres.push_back(c);
    radii.push_back(r);
  }
  const double threshold = std::exp(-0.5);
  Eigen::VectorXi mask = Eigen::VectorXi::Zero(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) {
    const Eigen::Vector3d x = mesh.points.row(i).transpose();
    double f = 0.0;
    for (std::size_t k = 0; k < centres.size(); ++k)
      f += std::exp(-(x - centres[k]).squaredNorm() / (2.0 * radii[k] * radii[k]));
    mask[i] = f >= threshold ? 1 : 0;
  }
  mask[seed_node] = 1;  // f(c_0) ≥ 1 anyway; guards against rounding
  return mask;
}

Eigen::VectorXd edge_distance_to(const geometry::TetMesh& mesh, const Eigen::VectorXi& mask) {
  METAEIK_CHECK(mask.size() == mesh.num_points(),
                "scar mask has " << mask.size() << " entries, the mesh " << mesh.num_points() << " nodes");
  const double inf = std::numeric_limits<double>::infinity();
  Eigen::VectorXd dist = Eigen::VectorXd::Constant(mesh.num_points(), inf);
  using Item = std::pair<double, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  for (int i = 0; i < mesh.num_points(); ++i)
    if (mask[i]) {
      dist[i] = 0.0;
      queue.emplace(0.0, i);
    }
  if (queue.empty()) return dist;
  const auto adj = edge_adjacency(mesh);
  while (!queue.empty()) {
    const auto [d, i] = queue.top();
    queue.pop();
    if (d > dist[i]) continue;
    for (const auto& [j, len] : adj[i])
      if (d + len < dist[j]) {
        dist[j] = d + len;
        queue.emplace(dist[j], j);
      }
  }
  return dist;
}

Eigen::VectorXd scar_speed_field(const geometry::TetMesh& mesh, const Eigen::VectorXi& scar_mask,
                                 const ScarSpeedOptions& options) {
  METAEIK_CHECK(
      options.healthy_speed > 0 && options.scar_speed > 0,
      "speeds must be positive, got healthy " << options.healthy_speed << " and scar " << options.scar_speed);
  METAEIK_CHECK(options.border_width >= 0, "border width must be >= 0, got " << options.border_width);
  METAEIK_CHECK(scar_mask.size() == mesh.num_points(), "scar mask has " << scar_mask.size()
                                                                        << " entries, the mesh "
                                                                        << mesh.num_points() << " nodes");
  Eigen::VectorXd speed(mesh.num_points());
  if (options.border_width == 0.0) {
    for (int i = 0; i < mesh.num_points(); ++i)
      speed[i] = scar_mask[i] ? options.scar_speed : options.healthy_speed;
    return speed;
  }
  const Eigen::VectorXd d = edge_distance_to(mesh, scar_mask);
  for (int i = 0; i < mesh.num_points(); ++i) {
    if (scar_mask[i]) {
      speed[i] = options.scar_speed;
    } else if (d[i] >= options.border_width) {
      speed[i] = options.healthy_speed;
    } else {
      const double t = d[i] / options.border_width;
      speed[i] = options.scar_speed + (options.healthy_speed - options.scar_speed) * t * t * (3.0 - 2.0 * t);
    }
  }
  return speed;
}

}  // namespace metaeik::eikonal
