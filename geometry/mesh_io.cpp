#include "geometry/mesh_io.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "core/error.hpp"
#include "geometry/gmsh_io.hpp"
#include "geometry/opencarp_io.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::geometry {

namespace fs = std::filesystem;

namespace {

enum class Format { kVtk, kGmsh, kOpenCarp, kUnknown };

Format format_of(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".vtu" || ext == ".vtk") return Format::kVtk;
  if (ext == ".msh") return Format::kGmsh;
  // openCARP names are case-sensitive (heart.pts + heart.elem), so only the lower-case ones.
  const std::string exact = path.extension().string();
  if (exact == ".pts" || exact == ".elem" || exact == ".lon") return Format::kOpenCarp;
  return Format::kUnknown;
}

[[noreturn]] void unsupported(const fs::path& path) {
  METAEIK_FAIL(path.string() << ": unsupported mesh format '" << path.extension().string()
                             << "' (expected .vtu, .vtk, .msh or openCARP .pts/.elem/.lon)");
}

}  // namespace

bool is_mesh_path(const fs::path& path) { return format_of(path) != Format::kUnknown; }

TetMesh read_mesh(const fs::path& path) {
  switch (format_of(path)) {
    case Format::kVtk:
      return read_vtk_mesh(path);
    case Format::kGmsh:
      return read_msh(path);
    case Format::kOpenCarp:
      return read_opencarp(path);
    case Format::kUnknown:
      break;
  }
  unsupported(path);
}

void write_mesh(const TetMesh& mesh, const fs::path& path) {
  switch (format_of(path)) {
    case Format::kVtk:
      return write_vtk_mesh(mesh, path);
    case Format::kGmsh:
      return write_msh(mesh, path);
    case Format::kOpenCarp:
      return write_opencarp(mesh, path);
    case Format::kUnknown:
      break;
  }
  unsupported(path);
}

}  // namespace metaeik::geometry
