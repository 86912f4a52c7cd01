#pragma once
// Boundary surface of a tetrahedral mesh.

#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Faces that belong to exactly one tet, oriented outward when the tets are positively oriented
/// (the normal (b − a) × (c − a) of face (a, b, c) points away from the tet's fourth vertex).
/// Order: by owning tet, then by the local index of the opposite vertex.
/// @param[in] T  #T×4 tets
/// @return #F×3 triangles (point indices)
Triangles boundary_faces(const Tets& T);

/// The owning tet of each face returned by boundary_faces (same order). #F
std::vector<int> boundary_face_tets(const Tets& T);

/// Sorted indices of the points that lie on a boundary face.
std::vector<int> boundary_nodes(const Tets& T);

/// Unit normals (b − a) × (c − a) / |…| of triangles. @return #F×3
Points face_normals(const Points& P, const Triangles& F);

/// Triangle areas in mm². @return #F
Eigen::VectorXd face_areas(const Points& P, const Triangles& F);

}  // namespace metaeik::geometry
