#include "geometry/opencarp_io.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../support/cli.hpp"
#include "../support/errors.hpp"
#include "../support/fuzz.hpp"
#include "geometry/fibres.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/structured.hpp"

namespace metaeik::geometry {
namespace {

namespace fs = std::filesystem;
using test::error_of;

/// 2×2×2-cell box of 2 mm (27 points, 48 tets) with region tags and two fibre vectors per tet.
TetMesh tagged_box() {
  TetMesh m = box_mesh(2, 2, 2, Eigen::Vector3d(2, 2, 2), Eigen::Vector3d(-1.0, 0.25, 3.0));
  Eigen::VectorXd region(m.num_tets());
  ArrayValues fibre(m.num_tets(), 3), sheet(m.num_tets(), 3);
  for (int t = 0; t < m.num_tets(); ++t) {
    region[t] = t % 3 + 1;
    const double a = 0.1 * t;
    fibre.row(t) << std::cos(a), std::sin(a), 0.0;
    sheet.row(t) << -std::sin(a) / 3.0, std::cos(a) / 3.0, 0.7;
  }
  m.set_cell_array("region", region, ScalarType::kInt32);
  m.set_cell_array("fiber", fibre);
  m.set_cell_array("sheet", sheet);
  return m;
}

std::string first_lines(const fs::path& p, int n) {
  std::ifstream in(p);
  std::string line, out;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

TEST(OpenCarpIo, RoundTripKeepsPointsWithinTheUnitConversionTetsRegionsAndFibres) {
  test::TempDir dir("opencarp_rt");
  const TetMesh m = tagged_box();
  write_mesh(m, dir / "box.pts");
  for (const char* ext : {".pts", ".elem", ".lon"}) EXPECT_TRUE(fs::exists(dir / ("box" + std::string(ext))));
  // Points are µm in the file: the first point (-1, 0.25, 3) mm.
  EXPECT_EQ(first_lines(dir / "box.pts", 2), "27\n-1000 250 3000\n");
  EXPECT_EQ(first_lines(dir / "box.elem", 1), "48\n");
  EXPECT_EQ(first_lines(dir / "box.lon", 1), "2\n");

  for (const char* name : {"box.pts", "box.elem", "box.lon"}) {
    const TetMesh r = read_mesh(dir / name);
    ASSERT_EQ(r.num_points(), 27);
    EXPECT_LE((r.points - m.points).cwiseAbs().maxCoeff(), 1e-15 * 4);
    EXPECT_EQ(r.tets, m.tets);
    ASSERT_EQ(r.cell_data.size(), 3u);
    EXPECT_EQ(r.cell_data.at("region").values, m.cell_data.at("region").values);
    EXPECT_EQ(r.cell_data.at("region").type, ScalarType::kInt32);
    EXPECT_EQ(r.cell_data.at("fiber").values, m.cell_data.at("fiber").values);  // shortest round-trip text
    EXPECT_EQ(r.cell_data.at("sheet").values, m.cell_data.at("sheet").values);
    EXPECT_TRUE(r.point_data.empty());
  }
  // Written again from what was read, the files are byte for byte the same.
  const std::string pts = test::read_bytes(dir / "box.pts"), lon = test::read_bytes(dir / "box.lon");
  write_opencarp(read_opencarp(dir / "box"), dir / "again.elem");
  EXPECT_EQ(test::read_bytes(dir / "again.pts"), pts);
  EXPECT_EQ(test::read_bytes(dir / "again.lon"), lon);
  EXPECT_EQ(test::read_bytes(dir / "again.elem"), test::read_bytes(dir / "box.elem"));
}

TEST(OpenCarpIo, CrtdemoBivWrittenAsOpenCarpReadsBackTheSame) {
  const TetMesh biv = read_mesh(test::source_dir() / "meshes/crtdemo_biv/crtdemo_biv_labeled_v42.vtk");
  ASSERT_EQ(biv.num_points(), 4569);
  ASSERT_EQ(biv.num_tets(), 17866);
  // The shipped fibres are per node; the writer averages them per tet for the .lon.
  const Points expected = tet_fibres(biv, biv.point_data.at("fiber").values, "crtdemo fiber");
  test::TempDir dir("opencarp_crt");
  write_mesh(biv, dir / "crtdemo.pts");
  const TetMesh r = read_mesh(dir / "crtdemo.pts");
  ASSERT_EQ(r.num_points(), 4569);
  ASSERT_EQ(r.num_tets(), 17866);
  EXPECT_LE((r.points - biv.points).cwiseAbs().maxCoeff(), 1e-13);  // coordinates up to ~100 mm
  EXPECT_EQ(r.tets, biv.tets);
  EXPECT_EQ(r.cell_data.at("fiber").values, expected);
  EXPECT_EQ(r.cell_data.count("sheet"), 0u);
  EXPECT_EQ(r.cell_data.at("region").values.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(first_lines(dir / "crtdemo.lon", 1), "1\n");
}

TEST(OpenCarpIo, ReadsLonWithoutCountLineAndElementsWithoutRegion) {
  test::TempDir dir("opencarp_legacy");
  std::ofstream(dir / "m.pts") << "5\n0 0 0\n1000 0 0\n0 1000 0\n0 0 1000\n1000 1000 1000\n";
  std::ofstream(dir / "m.elem") << "2\nTt 0 1 2 3\r\nTt 1 2 3 4 7\n\n";
  std::ofstream(dir / "m.lon") << "1 0 0\n0 +0.5 -0.5e0\n";
  const TetMesh r = read_opencarp(dir / "m.pts");
  EXPECT_EQ(r.points.row(4), Eigen::RowVector3d(1, 1, 1));
  EXPECT_EQ(r.cell_data.at("region").values, (ArrayValues(2, 1) << 0, 7).finished());
  EXPECT_EQ(r.cell_data.at("fiber").values, (ArrayValues(2, 3) << 1, 0, 0, 0, 0.5, -0.5).finished());
}

class OpenCarpBad : public ::testing::Test {
 protected:
  void SetUp() override {
    write("m.pts", "5\n0 0 0\n1000 0 0\n0 1000 0\n0 0 1000\n1000 1000 1000\n");
    write("m.elem", "2\nTt 0 1 2 3 1\nTt 1 2 3 4 2\n");
    write("m.lon", "1\n1 0 0\n0 1 0\n");
    ASSERT_EQ(error_of([&] { read_opencarp(dir_ / "m.pts"); }), "(no error)");
  }
  void write(const std::string& name, const std::string& text) const { test::write_bytes(dir_ / name, text); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  /// The error of reading the mesh after replacing one of its files by `text`.
  std::string error_with(const std::string& name, const std::string& text) {
    const std::string saved = test::read_bytes(dir_ / name);
    write(name, text);
    const std::string e = error_of([&] { read_opencarp(dir_ / "m.pts"); });
    write(name, saved);
    return e;
  }

  test::TempDir dir_{"opencarp_bad"};
};

TEST_F(OpenCarpBad, PointsFileErrorsNameTheLine) {
  const std::string f = path("m.pts");
  EXPECT_EQ(error_with("m.pts", "5\n0 0 0\n1000 0 0\n"), f + ":4: file ends after 2 of 5 points");
  EXPECT_EQ(error_with("m.pts", "5\n0 0 0\n1000 0"),
            f + ":3: expected 3 coordinates (x y z in um), got '1000 0'");
  EXPECT_EQ(error_with("m.pts", "5\n0 0 0\n1000 abc 0\n"), f + ":3: coordinate 'abc' is not a number");
  EXPECT_EQ(error_with("m.pts", "5\n0 0 nan\n"), f + ":2: coordinate 'nan' is not finite");
  EXPECT_EQ(error_with("m.pts", "99999999999\n0 0 0\n"),
            f + ":1: declares 99999999999 points, more than the 2147483647 a mesh can index");
  EXPECT_EQ(error_with("m.pts", "2000000000\n0 0 0\n"), f + ":3: file ends after 1 of 2000000000 points");
  EXPECT_EQ(error_with("m.pts", ""), f + ":1: file is empty (expected the number of points)");
  EXPECT_EQ(error_with("m.pts", "five\n"), f + ":1: expected the number of points, got 'five'");
  EXPECT_EQ(error_with("m.pts", "-3\n"), f + ":1: expected the number of points, got '-3'");
  EXPECT_EQ(error_with("m.pts", "5\n0 0 0\n1000 0 0\n0 1000 0\n0 0 1000\n1000 1000 1000\n1 2 3\n"),
            f + ":7: unexpected content after the 5 points declared on line 1");
  EXPECT_EQ(error_with("m.pts", "2\n0 0 0\x01\n0 0 0\n"), f + ":2: coordinate '0?' is not a number");
  fs::remove(dir_ / "m.pts");
  EXPECT_EQ(error_of([&] { read_mesh(dir_ / "m.elem"); }), f + ": file does not exist");
}

TEST_F(OpenCarpBad, ElementFileErrorsNameTheLine) {
  const std::string f = path("m.elem");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\n"), f + ":3: file ends after 1 of 2 elements");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\nTt 1 2 3 9 2\n"),
            f + ":3: node index 9 is out of range [0, 5) of the .pts file");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 -1 1\n"),
            f + ":2: node index -1 is out of range [0, 5) of the .pts file");
  EXPECT_EQ(error_with("m.elem", "2\nHx 0 1 2 3 4 0 1 2 3\n"),
            f + ":2: element type 'Hx' is not supported (only Tt tetrahedra)");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\nTr 0 1 2 1\n"),
            f + ":3: element type 'Tr' is not supported (only Tt tetrahedra)");
  EXPECT_EQ(error_with("m.elem", "2\nZz 0 1 2 3\n"), f + ":2: unknown element type 'Zz' (expected Tt)");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2\n"),
            f + ":2: a Tt element needs 4 node indices and an optional region tag, got 'Tt 0 1 2'");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1 5\n"),
            f + ":2: a Tt element needs 4 node indices and an optional region tag, got 'Tt 0 1 2 3 1 5'");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2.5 3 1\n"), f + ":2: node index '2.5' is not an integer");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 x\n"), f + ":2: region tag 'x' is not a 32-bit integer");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\nTt 1 2 3 4 4294967296\n"),
            f + ":3: region tag '4294967296' is not a 32-bit integer");
  EXPECT_EQ(error_with("m.elem", "40000000\nTt 0 1 2 3 1\n"),
            f + ":3: file ends after 1 of 40000000 elements");
  EXPECT_EQ(error_with("m.elem", "0\n"), f + ":1: the file declares no elements");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\nTt 0 1 2 3 2\nTt 1 2 3 4 2\n"),
            f + ":4: unexpected content after the 2 elements declared on line 1");
  EXPECT_EQ(error_with("m.elem", "2\nTt 0 1 2 3 1\nTt 0 1 2 0 2\n"),
            f + ": tet 1 has zero volume (degenerate)");
}

TEST_F(OpenCarpBad, FibreFileErrorsNameTheLineAndTheElementCount) {
  const std::string f = path("m.lon"), elem = path("m.elem");
  EXPECT_EQ(error_with("m.lon", "1\n1 0 0\n"),
            f + ":3: file ends after 1 of 2 fibre lines (" + elem + " has 2 elements)");
  EXPECT_EQ(error_with("m.lon", "1\n1 0 0\n0 1 0\n0 0 1\n"),
            f + ":4: more fibre lines than the 2 elements of " + elem);
  EXPECT_EQ(error_with("m.lon", "1 0 0\n"),
            f + ":2: file ends after 1 of 2 fibre lines (" + elem + " has 2 elements)");
  EXPECT_EQ(error_with("m.lon", "3\n1 0 0\n0 1 0\n"),
            f + ":1: expected the number of fibre vectors per element (1 or 2), got '3'");
  EXPECT_EQ(error_with("m.lon", "2\n1 0 0\n0 1 0\n"),
            f + ":2: expected 6 numbers (fibre and sheet vectors), got '1 0 0'");
  EXPECT_EQ(error_with("m.lon", "1\n1 0 0 0 1 0\n0 1 0\n"),
            f + ":2: expected 3 numbers (a fibre vector), got '1 0 0 0 1 0'");
  EXPECT_EQ(error_with("m.lon", "1\n1 0 inf\n0 1 0\n"),
            f + ":2: fibre component 'inf' is not a finite number");
  EXPECT_EQ(error_with("m.lon", ""),
            f + ":1: file is empty (expected the number of fibre vectors per element, 1 or 2)");
}

TEST_F(OpenCarpBad, VertexListsAreCheckedAgainstTheMesh) {
  const std::string f = path("s.vtx");
  write("s.vtx", "3\nintra\n0\n4\n4\n");
  const VertexList list = read_vtx(f, 5);
  EXPECT_EQ(list.nodes, (std::vector<int>{0, 4, 4}));
  EXPECT_EQ(list.domain, "intra");
  write_vtx({{1, 2}, "extra"}, dir_ / "t.vtx");
  EXPECT_EQ(test::read_bytes(dir_ / "t.vtx"), "2\nextra\n1\n2\n");
  auto vtx_error = [&](const std::string& text) {
    write("s.vtx", text);
    return error_of([&] { read_vtx(f, 5); });
  };
  EXPECT_EQ(vtx_error("2\nintra\n0\n7\n"), f + ":4: node index 7 is out of range [0, 5) of the mesh");
  EXPECT_EQ(vtx_error("2\nintra\n0\n"), f + ":4: file ends after 1 of 2 nodes");
  EXPECT_EQ(vtx_error("2\n0\n1\n"), f + ":2: expected the domain 'intra' or 'extra', got '0'");
  EXPECT_EQ(vtx_error("2\nintra\n0 1\n"), f + ":3: expected one node index, got '0 1'");
  EXPECT_EQ(vtx_error("2147483647\nintra\n0\n"), f + ":4: file ends after 1 of 2147483647 nodes");
}

TEST(OpenCarpIo, WritesAtomicallyAndRemovesAStaleFibreFile) {
  test::TempDir dir("opencarp_w");
  EXPECT_EQ(error_of([&] { write_mesh(tagged_box(), dir / "nope" / "m.pts"); }),
            (dir / "nope" / "m.pts").string() + ": cannot write, directory " + (dir / "nope").string() +
                " does not exist");
  write_mesh(tagged_box(), dir / "m.pts");
  TetMesh plain = box_mesh(1, 1, 1, Eigen::Vector3d(1, 1, 1));
  write_mesh(plain, dir / "m.elem");
  EXPECT_FALSE(fs::exists(dir / "m.lon"));
  const TetMesh r = read_mesh(dir / "m.pts");
  EXPECT_EQ(r.num_tets(), 6);
  EXPECT_EQ(r.cell_data.count("fiber"), 0u);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file();
  EXPECT_EQ(entries, 2);  // m.pts, m.elem: no temporary left
}

}  // namespace
}  // namespace metaeik::geometry
