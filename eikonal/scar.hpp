#pragma once
// Scar (slow-conduction) speed fields for synthetic subjects (docs/DESIGN.md, eikonal → Datasets).
//
// A scar is a set of mesh nodes: either the nodes of a group of AHA segments (point array
// `aha`, 1–17 LV, 18 RV free wall) or a random smooth blob. The node-wise speed is
//   scar_speed     on scar nodes,
//   healthy_speed  on nodes farther than border_width from the scar,
//   a smoothstep blend in between, by the distance d along mesh edges to the nearest scar node:
//   v(d) = scar + (healthy − scar)·s(d/w), s(t) = 3t² − 2t³.
// border_width = 0 (the default) gives a sharp border: every node is either scar or healthy.

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::eikonal {

struct ScarSpeedOptions {
  double healthy_speed = 0.6;  ///< mm/ms (paper: 0.6 m/s)
  double scar_speed = 0.1;     ///< mm/ms (paper: 0.1 m/s)
  double border_width = 0.0;   ///< mm; 0 = sharp border, > 0 = smoothstep transition outside the scar
};

/// Random smooth blob: the scar is the region where a sum of Gaussian bumps ("metaballs")
///   f(x) = Σ_k exp(−|x − c_k|² / (2 r_k²))  exceeds exp(−1/2),
/// i.e. a smooth union of balls of radius ≈ r_k. c_0 is a random mesh node, the other
/// centres lie within r_0 of c_0; radii are uniform in [min_radius, max_radius].
struct BlobOptions {
  int bumps = 3;             ///< number of Gaussian bumps, ≥ 1
  double min_radius = 6.0;   ///< mm
  double max_radius = 12.0;  ///< mm
};

/// Nodes whose `aha` label is in `segments` (1 where scar). Throws if the mesh has no `aha`.
Eigen::VectorXi aha_scar_mask(const geometry::TetMesh& mesh, const std::vector<int>& segments);

/// A random blob (see BlobOptions), reproducible from `seed`. At least one node (c_0) is scar.
Eigen::VectorXi blob_scar_mask(const geometry::TetMesh& mesh, const BlobOptions& options, std::uint64_t seed);

/// Shortest distance along mesh edges (mm) from every node to the nearest node with mask = 1
/// (0 on the mask; +inf where unreachable or when the mask is empty).
Eigen::VectorXd edge_distance_to(const geometry::TetMesh& mesh, const Eigen::VectorXi& mask);

/// Node-wise speed (mm/ms, #P) from a scar mask (see the file comment for the border).
Eigen::VectorXd scar_speed_field(const geometry::TetMesh& mesh, const Eigen::VectorXi& scar_mask,
                                 const ScarSpeedOptions& options);

}  // namespace metaeik::eikonal
