#pragma once
// Mesh files by extension: VTK (.vtu, .vtk; geometry/vtk_io.hpp), Gmsh (.msh;
// geometry/gmsh_io.hpp) and openCARP (.pts/.elem/.lon; geometry/opencarp_io.hpp).

#include <filesystem>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Reads and validates (geometry::validate) a tetrahedral mesh: `.vtu`/`.vtk` through VTK, `.msh`
/// through the Gmsh SDK, `heart.pts`, `heart.elem` or `heart.lon` as the openCARP mesh `heart`
/// (coordinates µm → mm). Every error is one line naming the file (and, for text formats, the line).
TetMesh read_mesh(const std::filesystem::path& path);

/// Writes by extension, atomically: `.vtu` (zlib-compressed), legacy `.vtk` (binary), `.msh` (MSH
/// 4.1 ASCII; write_msh for other versions) or openCARP `.pts`/`.elem`/`.lon` (all three files of
/// the base, coordinates mm → µm).
void write_mesh(const TetMesh& mesh, const std::filesystem::path& path);

/// True if read_mesh/write_mesh know the extension of `path`.
bool is_mesh_path(const std::filesystem::path& path);

}  // namespace metaeik::geometry
