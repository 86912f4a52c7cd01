#include "eikonal/topology.hpp"

#include <omp.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.hpp"

namespace metaeik::eikonal::detail {

namespace {
constexpr int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};

void fill_gram(const Eigen::Vector3d d[3], const Eigen::Matrix3d* metric, double* g) {
  int idx = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = i; j < 3; ++j) g[idx++] = metric ? d[i].dot(*metric * d[j]) : d[i].dot(d[j]);
}

void edge_vectors(const geometry::Points& P, const int* v, Eigen::Vector3d d[3]) {
  for (int i = 0; i < 3; ++i) d[i] = (P.row(v[i + 1]) - P.row(v[0])).transpose();
}
}  // namespace

namespace {
/// Spreads the low 21 bits of x so that two zero bits follow each bit (Morton interleave).
std::uint64_t spread3(std::uint64_t x) {
  x &= 0x1fffff;
  x = (x | x << 32) & 0x1f00000000ffffULL;
  x = (x | x << 16) & 0x1f0000ff0000ffULL;
  x = (x | x << 8) & 0x100f00f00f00f00fULL;
  x = (x | x << 4) & 0x10c30c30c30c30c3ULL;
  x = (x | x << 2) & 0x1249249249249249ULL;
  return x;
}

/// Z-order (Morton) codes of points in their bounding box.
std::vector<std::uint64_t> morton_codes(const geometry::Points& P) {
  const Eigen::RowVector3d lo = P.colwise().minCoeff(), hi = P.colwise().maxCoeff();
  const double extent = std::max((hi - lo).maxCoeff(), 1e-300);
  const double scale = double((1 << 21) - 1) / extent;
  std::vector<std::uint64_t> codes(P.rows());
  for (Eigen::Index i = 0; i < P.rows(); ++i) {
    std::uint64_t c = 0;
    for (int a = 0; a < 3; ++a) c |= spread3(std::uint64_t((P(i, a) - lo[a]) * scale)) << a;
    codes[i] = c;
  }
  return codes;
}

/// Permutation (new → old) sorting by code, ties by old index.
std::vector<int> order_by(const std::vector<std::uint64_t>& codes) {
  std::vector<int> order(codes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return codes[a] != codes[b] ? codes[a] < codes[b] : a < b; });
  return order;
}
}  // namespace

Topology build_topology(const geometry::TetMesh& mesh) {
  Topology topo;
  const int n = mesh.num_points();
  const int nt = mesh.num_tets();
  METAEIK_CHECK(nt > 0, "mesh has no tetrahedra");
  for (int i = 0; i < n; ++i)
    METAEIK_CHECK(mesh.points.row(i).allFinite(), "point " << i << " has a non-finite coordinate");
  for (int t = 0; t < nt; ++t) {
    int v[4];
    for (int k = 0; k < 4; ++k) {
      v[k] = mesh.tets(t, k);
      METAEIK_CHECK(v[k] >= 0 && v[k] < n,
                    "tet " << t << " references point " << v[k] << ", out of range [0, " << n << ")");
    }
    Eigen::Vector3d d[3];
    edge_vectors(mesh.points, v, d);
    double lmax = 0.0;
    for (const auto& e : kEdges)
      lmax = std::max(lmax, (mesh.points.row(v[e[0]]) - mesh.points.row(v[e[1]])).norm());
    const double vol6 = d[0].dot(d[1].cross(d[2]));
    METAEIK_CHECK(std::abs(vol6) > 6e-12 * lmax * lmax * lmax,
                  "tet " << t << " has zero volume (degenerate)");
  }
  topo.num_points = n;
  topo.num_tets = nt;

  // Internal numbering: nodes and tets in Z-order, so that nodes and tets close in space are close
  // in memory (fewer cache and TLB misses on large meshes). Results are mapped back.
  topo.node_order = order_by(morton_codes(mesh.points));
  topo.node_rank.resize(n);
  for (int i = 0; i < n; ++i) topo.node_rank[topo.node_order[i]] = i;
  {
    geometry::Points centroids(nt, 3);
    for (int t = 0; t < nt; ++t)
      centroids.row(t) = 0.25 * (mesh.points.row(mesh.tets(t, 0)) + mesh.points.row(mesh.tets(t, 1)) +
                                 mesh.points.row(mesh.tets(t, 2)) + mesh.points.row(mesh.tets(t, 3)));
    topo.tet_order = order_by(morton_codes(centroids));
  }
  topo.points.resize(n, 3);
  for (int i = 0; i < n; ++i) topo.points.row(i) = mesh.points.row(topo.node_order[i]);
  topo.tets.resize(nt);
  topo.tet_nodes.resize(nt);
  for (int t = 0; t < nt; ++t) {
    auto& tv = topo.tet_nodes[t];
    for (int k = 0; k < 4; ++k) tv[k] = topo.node_rank[mesh.tets(topo.tet_order[t], k)];
    Eigen::Vector3d d[3];
    edge_vectors(topo.points, tv.data(), d);
    fill_gram(d, nullptr, topo.tets[t].gram);
  }

  // CSR node → incident (tet, local vertex).
  topo.tet_offsets.assign(n + 1, 0);
  for (const auto& tv : topo.tet_nodes)
    for (int k = 0; k < 4; ++k) ++topo.tet_offsets[tv[k] + 1];
  for (int i = 0; i < n; ++i) topo.tet_offsets[i + 1] += topo.tet_offsets[i];
  topo.tet_entries.resize(4 * size_t(nt));
  {
    std::vector<int> fill(topo.tet_offsets.begin(), topo.tet_offsets.end() - 1);
    for (int t = 0; t < nt; ++t)
      for (int k = 0; k < 4; ++k) {
        TetEntry& te = topo.tet_entries[fill[topo.tet_nodes[t][k]]++];
        for (int j = 0, o = 0; j < 4; ++j)
          if (j != k) te.other[o++] = topo.tet_nodes[t][j];
        te.tet_k = 4 * t + k;
      }
  }

  // Heights: |6V| / (2 · area of the opposite face).
  topo.entry_height.resize(topo.tet_entries.size());
  for (size_t e = 0; e < topo.tet_entries.size(); ++e) {
    const TetEntry& te = topo.tet_entries[e];
    const int t = te.tet_k >> 2, k = te.tet_k & 3;
    const Eigen::Vector3d x = topo.points.row(topo.tet_nodes[t][k]).transpose();
    const Eigen::Vector3d a = topo.points.row(te.other[0]).transpose();
    const Eigen::Vector3d b = topo.points.row(te.other[1]).transpose();
    const Eigen::Vector3d c = topo.points.row(te.other[2]).transpose();
    const Eigen::Vector3d normal = (b - a).cross(c - a);
    const double h = std::abs((x - a).dot(normal)) / normal.norm();
    topo.entry_height[e] = float(h * (1.0 - 1e-5));
  }

  // CSR node → edge neighbours (sorted, unique).
  topo.node_offsets.assign(n + 1, 0);
  std::vector<int> scratch;
  std::vector<std::vector<int>> rows(n);
  for (int i = 0; i < n; ++i) {
    scratch.clear();
    for (int e = topo.tet_offsets[i]; e < topo.tet_offsets[i + 1]; ++e) {
      for (const int v : topo.tet_entries[e].other) scratch.push_back(v);
    }
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    rows[i] = scratch;
    topo.node_offsets[i + 1] = topo.node_offsets[i] + int(scratch.size());
  }
  topo.node_neighbors.resize(topo.node_offsets[n]);
  for (int i = 0; i < n; ++i)
    std::copy(rows[i].begin(), rows[i].end(), topo.node_neighbors.begin() + topo.node_offsets[i]);

  topo.reverse_entry.resize(topo.node_neighbors.size());
  for (int a = 0; a < n; ++a)
    for (int e = topo.node_offsets[a]; e < topo.node_offsets[a + 1]; ++e) {
      const int b = topo.node_neighbors[e];
      const auto first = topo.node_neighbors.begin() + topo.node_offsets[b];
      const auto last = topo.node_neighbors.begin() + topo.node_offsets[b + 1];
      topo.reverse_entry[e] = int(std::lower_bound(first, last, a) - topo.node_neighbors.begin());
    }

  // Each tet edge → CSR entry of (lo → hi).
  topo.tet_edges.resize(6 * size_t(nt));
  for (int t = 0; t < nt; ++t)
    for (int e = 0; e < 6; ++e) {
      int a = topo.tet_nodes[t][kEdges[e][0]], b = topo.tet_nodes[t][kEdges[e][1]];
      if (a > b) std::swap(a, b);
      const auto first = topo.node_neighbors.begin() + topo.node_offsets[a];
      const auto last = topo.node_neighbors.begin() + topo.node_offsets[a + 1];
      topo.tet_edges[6 * size_t(t) + e] = int(std::lower_bound(first, last, b) - topo.node_neighbors.begin());
    }
  return topo;
}

void check_speed(const Topology& topo, const SpeedField& speed) {
  const int n = topo.num_points, nt = topo.num_tets;
  const bool per_node = speed.location == SpeedField::Location::kNode;
  const char* where = per_node ? "node" : "tet";
  const int expected = per_node ? n : nt;
  METAEIK_CHECK(speed.speed.size() == expected, "speed field has " << speed.speed.size()
                                                                   << " values, expected " << expected
                                                                   << " (one per " << where << ")");
  for (int i = 0; i < expected; ++i) {
    const double v = speed.speed[i];
    METAEIK_CHECK(std::isfinite(v), "speed at " << where << " " << i << " is not finite (" << v << ")");
    METAEIK_CHECK(v > 0, "speed at " << where << " " << i << " is not positive (" << v << ")");
  }
  if (speed.fibers.rows() == 0) return;
  const double rho = speed.transverse_ratio;
  METAEIK_CHECK(std::isfinite(rho) && rho > 0,
                "transverse speed ratio must be positive and finite, got " << rho);
  METAEIK_CHECK(speed.fibers.rows() == nt,
                "fibre field has " << speed.fibers.rows() << " rows, expected " << nt << " (one per tet)");
  for (int t = 0; t < nt; ++t) {
    const Eigen::Vector3d f = speed.fibers.row(t).transpose();
    METAEIK_CHECK(f.allFinite(), "fibre of tet " << t << " is not finite");
    METAEIK_CHECK(f.norm() > 1e-12, "fibre of tet " << t << " has zero length");
  }
}

void build_anisotropic(const Topology& topo, const SpeedField& speed, TetMetric& m);

TetMetric build_metric(const Topology& topo, const SpeedField& speed) {
  check_speed(topo, speed);
  TetMetric m;
  const int nt = topo.num_tets;
  const bool per_node = speed.location == SpeedField::Location::kNode;
  m.slowness.resize(nt);
  for (int t = 0; t < nt; ++t) {
    double v;
    if (per_node) {
      // Harmonic mean of the node speeds = arithmetic mean of slowness.
      const int* tv = topo.tet_nodes[t].data();
      const int* old = topo.node_order.data();
      const double slowness = 0.25 * (1.0 / speed.speed[old[tv[0]]] + 1.0 / speed.speed[old[tv[1]]] +
                                      1.0 / speed.speed[old[tv[2]]] + 1.0 / speed.speed[old[tv[3]]]);
      v = 1.0 / slowness;
    } else {
      v = speed.speed[topo.tet_order[t]];
    }
    m.slowness[t] = 1.0 / v;
  }

  if (speed.fibers.rows() == 0) {
    m.tets = topo.tets.data();
  } else {
    build_anisotropic(topo, speed, m);
    m.height_scale = std::min(1.0, 1.0 / speed.transverse_ratio);
  }
  double sum = 0.0;
  for (int t = 0; t < nt; ++t) {
    double l2 = std::numeric_limits<double>::infinity();
    for (const auto& e : kEdges) l2 = std::min(l2, edge_length2(m.tets[t].gram, e[0], e[1]));
    sum += std::sqrt(l2) * m.slowness[t];
  }
  m.mean_edge_time = sum / nt;
  return m;
}

void build_anisotropic(const Topology& topo, const SpeedField& speed, TetMetric& m) {
  const int nt = topo.num_tets;
  const double rho = speed.transverse_ratio;
  m.own.resize(nt);
  const double inv_rho2 = 1.0 / (rho * rho);
  for (int t = 0; t < nt; ++t) {
    const Eigen::Vector3d f = speed.fibers.row(topo.tet_order[t]).normalized().transpose();
    // M0 = D0⁻¹ with D0 = f fᵀ + ρ² (I − f fᵀ): M0 = f fᵀ + ρ⁻² (I − f fᵀ).
    const Eigen::Matrix3d ff = f * f.transpose();
    const Eigen::Matrix3d metric = ff + inv_rho2 * (Eigen::Matrix3d::Identity() - ff);
    TetGeom& tg = m.own[t];
    Eigen::Vector3d d[3];
    edge_vectors(topo.points, topo.tet_nodes[t].data(), d);
    fill_gram(d, &metric, tg.gram);
  }
  m.tets = m.own.data();
}

std::vector<Source> internal_sources(const Topology& topo, std::vector<Source> sources) {
  for (Source& s : sources) s.node = topo.node_rank[s.node];
  return sources;
}

Eigen::VectorXd external_times(const Topology& topo, const Eigen::VectorXd& internal) {
  Eigen::VectorXd out(internal.size());
  for (int i = 0; i < topo.num_points; ++i) out[topo.node_order[i]] = internal[i];
  return out;
}

void check_sources(const Topology& topo, const std::vector<Source>& sources) {
  METAEIK_CHECK(!sources.empty(), "no source nodes given");
  for (const Source& s : sources) {
    METAEIK_CHECK(s.node >= 0 && s.node < topo.num_points,
                  "source node " << s.node << " is out of range [0, " << topo.num_points << ")");
    METAEIK_CHECK(std::isfinite(s.time),
                  "onset time of source node " << s.node << " is not finite (" << s.time << ")");
  }
}

void check_batch(const Topology& topo, const std::vector<SpeedField>& speeds,
                 const std::vector<BatchItem>& items) {
  std::vector<char> checked(speeds.size(), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& item = items[i];
    try {
      METAEIK_CHECK(item.speed >= 0 && item.speed < int(speeds.size()),
                    "speed index " << item.speed << " is out of range [0, " << speeds.size() << ")");
      check_sources(topo, item.sources);
      if (!checked[item.speed]) check_speed(topo, speeds[item.speed]);
      checked[item.speed] = 1;
    } catch (const core::Error& e) {
      throw core::Error("batch item " + std::to_string(i) + ": " + e.what(), e.file(), e.line());
    }
  }
}

void check_options(const FimOptions& o) {
  METAEIK_CHECK(std::isfinite(o.tolerance) && o.tolerance >= 0,
                "solver tolerance must be a finite number ≥ 0, got " << o.tolerance);
  METAEIK_CHECK(o.max_iterations >= 1, "solver max_iterations must be at least 1, got " << o.max_iterations);
  METAEIK_CHECK(o.threads >= 0, "solver threads must be ≥ 0 (0 = OpenMP default), got " << o.threads);
  METAEIK_CHECK(std::isfinite(o.band), "solver band must be finite (< 0 = automatic), got " << o.band);
  METAEIK_CHECK(std::isfinite(o.source_radius) && o.source_radius >= 0,
                "solver source_radius must be a finite number ≥ 0, got " << o.source_radius);
}

int resolve_threads(int threads) { return threads > 0 ? threads : std::max(1, omp_get_max_threads()); }

}  // namespace metaeik::eikonal::detail
