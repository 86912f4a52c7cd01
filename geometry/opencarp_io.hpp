#pragma once
// openCARP text meshes: `<base>.pts` (points), `<base>.elem` (elements), `<base>.lon` (fibres) and
// `.vtx` node lists. Units: openCARP coordinates are µm by convention and TetMesh points are mm,
// so .pts coordinates are multiplied by 1e-3 on read and by 1e3 on write. Fibres are directions
// (unitless) and are kept as they are. docs/DESIGN.md, File formats → Meshes.

#include <filesystem>
#include <string>
#include <vector>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// The base of an openCARP mesh path: `heart.pts`, `heart.elem` and `heart.lon` all give `heart`.
std::filesystem::path opencarp_base(const std::filesystem::path& path);

/// Reads `<base>.pts`, `<base>.elem` and, if it exists, `<base>.lon` (`path` is any of the three).
/// Only `Tt` elements are accepted; their region tags become the int32 cell array `region` (0 where
/// a line has none). A .lon with one vector per element gives the cell array `fiber` (#T×3), with
/// two also `sheet`; a .lon without its count line is read as one vector per element. Every error
/// is one line naming the file and line: truncation (also of a count larger than the file can hold:
/// no reader reserves more than the rest of the file can hold), non-numbers, node indices out of
/// range, other element types, a fibre count that differs from the .elem's.
TetMesh read_opencarp(const std::filesystem::path& path);

/// Writes `<base>.pts` (µm), `<base>.elem` (`Tt`, region tags from the cell array `region`, else
/// `physical`, else 0) and, when the mesh has fibres, `<base>.lon`: the cell arrays `fiber`
/// (+ `sheet`), or a point array `fiber` averaged per tet (tet_fibres). A stale `<base>.lon` of a
/// mesh without fibres is removed. Other arrays are dropped with a warning. Each file is written
/// under a temporary name and all are renamed once every one is complete.
void write_opencarp(const TetMesh& mesh, const std::filesystem::path& path);

/// An openCARP vertex list: node indices and the domain keyword (`intra` or `extra`).
struct VertexList {
  std::vector<int> nodes;
  std::string domain = "intra";
};

/// Reads a `.vtx` file (count, `intra`/`extra`, one node index per line); indices must lie in
/// [0, num_points). Errors name the file and line.
VertexList read_vtx(const std::filesystem::path& path, int num_points);

/// Writes a `.vtx` file atomically.
void write_vtx(const VertexList& list, const std::filesystem::path& path);

}  // namespace metaeik::geometry
