// Fuzzed mesh files: seeded corruptions of small valid .vtu (zlib-compressed appended as we write
// them, raw appended with 64-bit headers, ASCII inline) and legacy .vtk (binary as we write them,
// ASCII) files must each end in a one-line error or a valid mesh, fast and with bounded memory.

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "../support/cli.hpp"
#include "../support/errors.hpp"
#include "../support/fuzz.hpp"
#include "geometry/structured.hpp"
#include "geometry/vtk_io.hpp"

namespace metaeik::geometry {
namespace {

namespace fs = std::filesystem;

/// 2×2×2-cell box (27 points, 48 tets) with an int32 label, a float64 point array and a float32
/// cell array.
TetMesh small_mesh() {
  TetMesh m = box_mesh(2, 2, 2, Eigen::Vector3d(2, 2, 2));
  Eigen::VectorXi surface(m.num_points());
  for (int i = 0; i < m.num_points(); ++i) surface[i] = i % 5;
  m.set_point_labels("surface", surface);
  m.set_point_array("at", m.points.col(0).eval() * 1.5);
  m.set_cell_array("speed", ArrayValues::Constant(m.num_tets(), 1, 0.6), ScalarType::kFloat32);
  return m;
}

/// The arrays of a VTU piece in file order: name, VTK type, components, raw little-endian bytes,
/// ASCII values.
struct VtuArray {
  std::string section, name, type;
  int components = 1;
  std::string raw, ascii;
};

template <class T>
void append(VtuArray& a, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  a.raw.append(b, sizeof(T));
  std::ostringstream os;
  os.precision(17);
  os << (sizeof(T) == 1 ? double(v) : v) << ' ';
  a.ascii += os.str();
}

std::vector<VtuArray> vtu_arrays(const TetMesh& m) {
  std::vector<VtuArray> out;
  auto array = [](const char* section, const char* name, const char* type, int components = 1) {
    VtuArray a;
    a.section = section;
    a.name = name;
    a.type = type;
    a.components = components;
    return a;
  };
  VtuArray surface = array("PointData", "surface", "Int32"), at = array("PointData", "at", "Float64"),
           speed = array("CellData", "speed", "Float32"), points = array("Points", "", "Float64", 3),
           conn = array("Cells", "connectivity", "Int64"), offsets = array("Cells", "offsets", "Int64"),
           types = array("Cells", "types", "UInt8");
  for (int i = 0; i < m.num_points(); ++i) {
    append(surface, std::int32_t(m.point_data.at("surface").values(i, 0)));
    append(at, m.point_data.at("at").values(i, 0));
    for (int c = 0; c < 3; ++c) append(points, m.points(i, c));
  }
  for (int t = 0; t < m.num_tets(); ++t) {
    append(speed, float(m.cell_data.at("speed").values(t, 0)));
    for (int k = 0; k < 4; ++k) append(conn, std::int64_t(m.tets(t, k)));
    append(offsets, std::int64_t(4 * (t + 1)));
    append(types, std::uint8_t(10));
  }
  return {surface, at, speed, points, conn, offsets, types};
}

/// A VTU written by hand the way other tools write them: inline ASCII, or raw appended data with
/// UInt64 byte-count headers and no compression.
std::string vtu_text(const TetMesh& m, bool appended) {
  const auto arrays = vtu_arrays(m);
  std::ostringstream os, data;
  os << "<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" "
        "byte_order=\"LittleEndian\""
     << " header_type=\"UInt64\">\n<UnstructuredGrid>\n<Piece NumberOfPoints=\"" << m.num_points()
     << "\" NumberOfCells=\"" << m.num_tets() << "\">\n";
  std::string open;
  for (const auto& a : arrays) {
    if (a.section != open) {
      if (!open.empty()) os << "</" << open << ">\n";
      os << "<" << a.section << ">\n";
      open = a.section;
    }
    os << "<DataArray type=\"" << a.type << "\"" << (a.name.empty() ? "" : " Name=\"" + a.name + "\"")
       << " NumberOfComponents=\"" << a.components << "\"";
    if (appended) {
      os << " format=\"appended\" offset=\"" << data.tellp() << "\"/>\n";
      const std::uint64_t n = a.raw.size();
      data.write(reinterpret_cast<const char*>(&n), sizeof n);
      data << a.raw;
    } else {
      os << " format=\"ascii\">\n" << a.ascii << "\n</DataArray>\n";
    }
  }
  os << "</" << open << ">\n</Piece>\n</UnstructuredGrid>\n";
  if (appended) os << "<AppendedData encoding=\"raw\">\n_" << data.str() << "\n</AppendedData>\n";
  os << "</VTKFile>\n";
  return os.str();
}

/// A legacy ASCII .vtk file of the mesh (DataFile version 4.2: CELLS n size with counts).
std::string legacy_ascii(const TetMesh& m) {
  std::ostringstream os;
  os.precision(17);
  os << "# vtk DataFile Version 4.2\nfuzz seed\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS " << m.num_points()
     << " double\n";
  for (int i = 0; i < m.num_points(); ++i)
    os << m.points(i, 0) << ' ' << m.points(i, 1) << ' ' << m.points(i, 2) << '\n';
  os << "CELLS " << m.num_tets() << ' ' << 5 * m.num_tets() << '\n';
  for (int t = 0; t < m.num_tets(); ++t)
    os << "4 " << m.tets(t, 0) << ' ' << m.tets(t, 1) << ' ' << m.tets(t, 2) << ' ' << m.tets(t, 3) << '\n';
  os << "CELL_TYPES " << m.num_tets() << '\n';
  for (int t = 0; t < m.num_tets(); ++t) os << "10\n";
  os << "POINT_DATA " << m.num_points() << "\nSCALARS surface int 1\nLOOKUP_TABLE default\n";
  for (int i = 0; i < m.num_points(); ++i) os << int(m.point_data.at("surface").values(i, 0)) << '\n';
  os << "FIELD FieldData 1\nat 1 " << m.num_points() << " double\n";
  for (int i = 0; i < m.num_points(); ++i) os << m.point_data.at("at").values(i, 0) << '\n';
  os << "CELL_DATA " << m.num_tets() << "\nSCALARS speed float 1\nLOOKUP_TABLE default\n";
  for (int t = 0; t < m.num_tets(); ++t) os << m.cell_data.at("speed").values(t, 0) << '\n';
  return os.str();
}

/// Fuzzes `original` as a mesh file with extension `ext`; every valid result is a checked mesh.
void fuzz_mesh(const std::string& original, const std::string& ext, std::uint64_t seed, int cases,
               const std::string& label) {
  test::TempDir dir("mesh_fuzz_" + label);
  const fs::path file = dir / ("mesh" + ext);
  test::write_bytes(file, original);
  const TetMesh ok = read_mesh(file);  // the seed file itself is valid
  ASSERT_EQ(ok.num_points(), 27);
  ASSERT_EQ(ok.num_tets(), 48);
  const auto r = test::fuzz_file(original, seed, cases, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(file, bytes);
    const TetMesh m = read_mesh(file);
    if (m.num_points() <= 0 || m.num_tets() <= 0) throw std::logic_error("read_mesh returned an empty mesh");
  });
  test::expect_clean(r, label);
}

TEST(VtuReader_fuzz, ZlibAppendedAsWeWriteIt) {
  test::TempDir dir("vtu_fuzz_seed");
  write_mesh(small_mesh(), dir / "seed.vtu");
  fuzz_mesh(test::read_bytes(dir / "seed.vtu"), ".vtu", 101, 1500, "vtu-zlib");
}

TEST(VtuReader_fuzz, RawAppendedUInt64Headers) {
  fuzz_mesh(vtu_text(small_mesh(), true), ".vtu", 102, 1000, "vtu-raw");
}

TEST(VtuReader_fuzz, AsciiInline) { fuzz_mesh(vtu_text(small_mesh(), false), ".vtu", 103, 600, "vtu-ascii"); }

// VTK's legacy reader crashes on some corrupted files that pass our pre-scan (binary: a file
// truncated inside the CELL_DATA FIELD header; ASCII: heap corruption); read_vtk_mesh reads legacy
// files in a child process first, so those cases are one-line errors.
TEST(LegacyVtkReader_fuzz, BinaryAsWeWriteIt) {
  test::TempDir dir("vtk_fuzz_seed");
  write_mesh(small_mesh(), dir / "seed.vtk");
  fuzz_mesh(test::read_bytes(dir / "seed.vtk"), ".vtk", 201, 1000, "vtk-binary");
}

TEST(LegacyVtkReader_fuzz, Ascii) { fuzz_mesh(legacy_ascii(small_mesh()), ".vtk", 202, 800, "vtk-ascii"); }

// The inputs the fuzzer found first, as exact errors: each used to crash inside VTK.
TEST(VtuReader_fuzz, FoundCasesAreCleanErrors) {
  test::TempDir dir("vtu_fuzz_found");
  const fs::path file = dir / "m.vtu";
  write_mesh(small_mesh(), file);
  std::string zlib = test::read_bytes(file);
  zlib.replace(zlib.find("NumberOfCells=\"48\""), 18, "NumberOfCells=\"-2147483649\"");
  test::write_bytes(file, zlib);
  EXPECT_EQ(test::error_of([&] { read_mesh(file); }),
            file.string() + ": NumberOfCells is not a valid count (\"-2147483649\")");
  std::string raw = vtu_text(small_mesh(), true);
  raw[raw.find("\n</AppendedData>") - 1] = char(42);  // the last cell becomes a polyhedron
  test::write_bytes(file, raw);
  EXPECT_EQ(
      test::error_of([&] { read_mesh(file); }),
      file.string() +
          ": Cells DataArray 'types': cell 47 has type 42 (polyhedron), which this reader does not support");
  // Seed 102, case 92: VTK allocated one tuple of 10⁹ components (73 s, 7.6 GB) before reading.
  raw = vtu_text(small_mesh(), true);
  const std::size_t at = raw.find("NumberOfComponents", raw.find("Name=\"connectivity\""));
  raw.replace(at, std::string("NumberOfComponents=\"1\"").size(), "NumberOfComponents=\"1000000000\"");
  test::write_bytes(file, raw);
  EXPECT_EQ(
      test::error_of([&] { read_mesh(file); }),
      file.string() +
          ": Cells DataArray 'connectivity' NumberOfComponents 1000000000 is more than the file can hold");
}

TEST(LegacyVtkReader_fuzz, FoundCasesAreCleanErrors) {
  test::TempDir dir("vtk_fuzz_found");
  const fs::path file = dir / "m.vtk";
  write_mesh(small_mesh(), file);
  const std::string seed = test::read_bytes(file);
  std::string poly = seed;
  poly[poly.find("CELL_TYPES 48\n") + 17] = char(42);  // big-endian int32: 0 0 0 42
  test::write_bytes(file, poly);
  EXPECT_EQ(
      test::error_of([&] { read_mesh(file); }),
      file.string() + ": CELL_TYPES: cell 0 has type 42 (polyhedron), which this reader does not support");
  std::string version = seed;
  version.replace(version.find("5.1"), 3, "4294967295");
  test::write_bytes(file, version);
  EXPECT_EQ(
      test::error_of([&] { read_mesh(file); }).substr(file.string().size()),
      ": not a legacy VTK file of a supported version (first line \"# vtk DataFile Version 4294967295\", "
      "expected \"# vtk DataFile Version 1.0 ... 5.1\")");
  std::string comps = legacy_ascii(small_mesh());
  comps.replace(comps.find("at 1 27 double"), 14, "at -2147483649 27 double");
  test::write_bytes(file, comps);
  EXPECT_EQ(test::error_of([&] { read_mesh(file); }),
            file.string() + ": at count is not a valid count (\"-2147483649\")");
}

}  // namespace
}  // namespace metaeik::geometry
