#pragma once
// Mesh files through VTK: XML unstructured grid (.vtu) and legacy VTK (.vtk, 4.2 and 5.1,
// ASCII or binary). Every point and cell array is kept, with its scalar type.

#include <filesystem>

#include "geometry/mesh_io.hpp"  // read_mesh / write_mesh: every format, by extension
#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Reads a .vtu or .vtk tetrahedral mesh and validates it (geometry::validate). Errors name the
/// file: missing/unreadable/truncated file, unsupported extension, no tetrahedra, non-tet cells
/// mixed with tets (other cells are dropped with a warning), bad indices or coordinates.
TetMesh read_vtk_mesh(const std::filesystem::path& path);

/// Writes .vtu (binary, zlib-compressed) or legacy .vtk (binary) by extension, atomically.
void write_vtk_mesh(const TetMesh& mesh, const std::filesystem::path& path);

}  // namespace metaeik::geometry
