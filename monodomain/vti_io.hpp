#pragma once
// VTK XML image data (.vti) and ParaView collections (.pvd) for structured-grid outputs.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "monodomain/tissue.hpp"

namespace metaeik::monodomain {

/// One named point array on the grid (grid.size() values, node order i + nx·(j + ny·k)).
struct GridArray {
  std::string name;
  std::vector<double> values;
  bool float32 = true;  ///< store as Float32 (frames) or Float64 (maps)
};

/// Writes a .vti (binary appended, zlib-compressed) atomically. Origin 0, spacing dx/dy/dz mm.
void write_vti(const std::filesystem::path& path, const Grid& grid, const std::vector<GridArray>& arrays);

/// Writes a .pvd collection: (time in ms, file path relative to the .pvd) per entry, atomically.
void write_pvd(const std::filesystem::path& path, const std::vector<std::pair<double, std::string>>& entries);

/// Reads the named point array of a .vti (for tests and tools); throws if missing.
std::vector<double> read_vti_array(const std::filesystem::path& path, const std::string& name,
                                   Grid* grid = nullptr);

}  // namespace metaeik::monodomain
