#pragma once
// Gmsh .msh meshes (v2.2 and v4.1, ASCII or binary) through the Gmsh SDK. Coordinates are taken
// as they are (mm, like every TetMesh). docs/DESIGN.md, File formats → Meshes.

#include <filesystem>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Reads the linear tetrahedra (Gmsh type 4) of a .msh file with the nodes they use (in node-tag
/// order); each tet's first physical tag (0 for none) becomes the int32 cell array `physical`.
/// Other elements (triangles, lines, ...) are ignored. Errors are one line naming the file: not a
/// .msh file (no $MeshFormat), Gmsh's own parse error, no linear tetrahedra (with the element types
/// found). The Gmsh SDK is global state; calls are serialised.
TetMesh read_msh(const std::filesystem::path& path);

struct MshOptions {
  double version = 4.1;  ///< 4.1 or 2.2
  bool binary = false;   ///< binary instead of ASCII
};

/// Writes the tets as one Gmsh volume per distinct positive tag of the cell array `physical`
/// (else `region`), each a physical group of that tag; tets with tag <= 0 (or without tags) are
/// written without a physical group. Other arrays are dropped with a warning. Atomic.
void write_msh(const TetMesh& mesh, const std::filesystem::path& path, const MshOptions& options = {});

}  // namespace metaeik::geometry
