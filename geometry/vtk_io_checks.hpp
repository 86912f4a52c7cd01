#pragma once
// Size checks that run before VTK allocates anything for a mesh file (used by vtk_io.cpp).
// VTK's readers trust the counts a file declares (NumberOfPoints, NumberOfCells, the block
// headers of compressed arrays, POINTS n, CELLS n size, ...) and allocate them up front, so a
// corrupted count can cost gigabytes or crash. These checks bound every count by what the file's
// bytes can hold and throw core::Error naming the file and the count otherwise.

#include <cstdint>
#include <string>

class vtkXMLDataElement;

namespace metaeik::geometry::detail {

/// Checks a parsed .vtu before its data are read. `root` is the VTKFile element of VTK's XML
/// parser (after UpdateInformation), `appended_pos` the file offset of the first byte after the
/// '_' of <AppendedData> (or < 0 when there is none), `file_size` the file's size in bytes.
void check_vtu_sizes(vtkXMLDataElement* root, std::int64_t appended_pos, const std::string& path,
                     std::uint64_t file_size);

/// Checks the counts of a legacy .vtk file's section lines (POINTS, CELLS, OFFSETS,
/// CONNECTIVITY, CELL_TYPES, POINT_DATA, CELL_DATA, field arrays) against the file size.
void check_legacy_vtk_sizes(const std::string& path);

}  // namespace metaeik::geometry::detail
