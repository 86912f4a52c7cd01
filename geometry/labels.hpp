#pragma once
// Surface and AHA-segment labels.
//
// `surface`: 0 interior, 1 LV endocardium, 2 RV endocardium, 3 epicardium, 4 base.
// `aha`: 1–17 LV segments of the AHA 17-segment model (Cerqueira et al. 2002), 18 RV free wall.
// Segments: basal 1–6, mid 7–12 (60° each: 1/7 anterior, 2/8 anteroseptal, 3/9 inferoseptal,
// 4/10 inferior, 5/11 inferolateral, 6/12 anterolateral), apical 13–16 (90° each: anterior,
// septal, inferior, lateral), 17 apical cap. Viewed from the apex towards the base with the
// septum on the left, anterior is up: anterior = long_axis × septum.

#include <vector>

#include "geometry/generate.hpp"
#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Node labels from boundary-face labels: each node on a labelled face takes the label of highest
/// priority among its faces — base (4) > LV endo (1) > RV endo (2) > epi (3); other nodes 0.
/// @param[in] F  #F×3 faces, @param[in] face_labels  #F values in 0–4
Eigen::VectorXi node_labels_from_faces(int num_points, const Triangles& F,
                                       const std::vector<int>& face_labels);

/// `surface` labels of a mesh made by generate_ventricle: every boundary face goes to the implicit
/// surface it lies on (smallest distance, ties broken by normal alignment); faces on the LV
/// epicardium inside the RV cavity are RV endocardium (the septum's RV side). Every boundary node
/// gets 1–4 (lv: 1, 3, 4).
Eigen::VectorXi generated_surface_labels(const TetMesh& mesh, const GeneratorOptions& options);

/// Reference frame of the AHA model.
struct AhaFrame {
  Eigen::Vector3d apex = Eigen::Vector3d::Zero();          ///< LV epicardial apex on the long axis, mm
  Eigen::Vector3d base_center = Eigen::Vector3d::UnitZ();  ///< base centre on the long axis, mm
  Eigen::Vector3d septum = Eigen::Vector3d::UnitX();       ///< from the LV axis towards the septum/RV
                                                           ///< (only its part ⟂ the long axis is used)
  double apex_fraction = 0.12;  ///< fraction of |base − apex| (from the apex) forming segment 17
};

/// Frame of a generate_ventricle mesh: apex (0, 0, −lv_epi_long_radius), base centre (0, 0, base_z),
/// septum +x, apex cap up to the endocardial apex.
AhaFrame generated_aha_frame(const GeneratorOptions& options);

/// Estimates the frame from `surface` labels only (1 and 3 needed; 2 and 4 used when present):
/// long axis = principal axis of the LV-endo nodes, oriented apex→base towards the base-labelled
/// nodes or else towards the wider end of the cavity; base centre at the top of the LV endo
/// nodes; apex = lowest node near the axis; septum towards the RV-endo centroid (else +x).
AhaFrame estimate_aha_frame(const TetMesh& mesh);

/// RV free-wall nodes from `surface` labels alone (for meshes without an analytic shape): a node
/// is RV free wall when the mesh has label-2 nodes and tets, the node is nearer to the RV than to
/// the LV endocardium, and the straight path to its nearest LV-endo node crosses the RV cavity
/// (judged from the outward normals of the nearest RV-endo nodes). All false without RV labels.
std::vector<bool> rv_free_wall_nodes(const TetMesh& mesh);

/// RV free wall of a generate_ventricle mesh: nodes more than 0.01 mm outside the LV epicardium
/// ellipsoid (none for "lv").
std::vector<bool> generated_rv_free_wall(const TetMesh& mesh, const GeneratorOptions& options);

/// AHA labels of every node: 18 where rv_free_wall (#P) is true, otherwise the LV segment from the
/// height t along apex→base (apex cap below apex_fraction, then thirds; t beyond [0, 1] clamps)
/// and the angle around the long axis.
Eigen::VectorXi aha_segments(const TetMesh& mesh, const AhaFrame& frame,
                             const std::vector<bool>& rv_free_wall);

/// Same, with rv_free_wall_nodes(mesh).
Eigen::VectorXi aha_segments(const TetMesh& mesh, const AhaFrame& frame);

}  // namespace metaeik::geometry
