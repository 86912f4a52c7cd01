#include "geometry/gmsh_io.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <cstring>
#include <fstream>

#include "../support/cli.hpp"
#include "../support/errors.hpp"
#include "../support/fuzz.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/structured.hpp"

namespace metaeik::geometry {
namespace {

namespace fs = std::filesystem;
using test::error_of;

fs::path patient_lv() { return test::source_dir() / "meshes/ldrb_patient_lv/ldrb_patient_lv.msh"; }

TEST(GmshIo, ReadsThePatientLv) {
  const std::string locale = std::setlocale(LC_ALL, nullptr);
  const TetMesh m = read_mesh(patient_lv());
  EXPECT_EQ(std::setlocale(LC_ALL, nullptr), locale);  // Gmsh's initialize() sets it; we restore it
  EXPECT_EQ(m.num_points(), 417);
  EXPECT_EQ(m.num_tets(), 1260);
  ASSERT_EQ(m.cell_data.size(), 1u);
  const DataArray& physical = m.cell_data.at("physical");
  EXPECT_EQ(physical.type, ScalarType::kInt32);
  EXPECT_EQ(physical.values.minCoeff(), 6.0);
  EXPECT_EQ(physical.values.maxCoeff(), 6.0);
  EXPECT_NEAR(m.points.col(0).maxCoeff(), 76.2, 0.05);               // epicardial apex (SOURCE.md)
  EXPECT_NEAR(m.points.col(0).minCoeff(), 0.0, 1e-9);                // base plane x = 0
  EXPECT_NEAR(tet_volumes(m.points, m.tets).sum(), 64.8e3, 0.05e3);  // 64.8 cm³ in mm³
}

TEST(GmshIo, Msh22And41AsciiAndBinaryReadTheSame) {
  test::TempDir dir("gmsh_versions");
  const TetMesh original = read_mesh(patient_lv());
  for (const double version : {2.2, 4.1}) {
    for (const bool binary : {false, true}) {
      const std::string name =
          std::string("lv_") + (version == 2.2 ? "22" : "41") + (binary ? "_bin" : "_ascii");
      const fs::path file = dir / (name + ".msh");
      write_msh(original, file, {version, binary});
      std::ifstream in(file, std::ios::binary);
      std::string line1, line2;
      std::getline(in, line1);
      std::getline(in, line2);
      EXPECT_EQ(line1, "$MeshFormat") << name;
      EXPECT_EQ(line2.substr(0, 8), (version == 2.2 ? "2.2 " : "4.1 ") + std::string(binary ? "1 8" : "0 8"))
          << name;
      const TetMesh r = read_mesh(file);
      EXPECT_EQ(r.points, original.points) << name;
      EXPECT_EQ(r.tets, original.tets) << name;
      EXPECT_EQ(r.cell_data.at("physical").values, original.cell_data.at("physical").values) << name;
    }
  }
}

TEST(GmshIo, RoundTripKeepsTetOrderAndMixedTags) {
  test::TempDir dir("gmsh_rt");
  TetMesh m = box_mesh(2, 1, 1, Eigen::Vector3d(2.5, 1, 1), Eigen::Vector3d(0.125, -3, 7));  // 12 tets
  Eigen::VectorXd tags(m.num_tets());
  for (int t = 0; t < m.num_tets(); ++t) tags[t] = (t * 5) % 3 == 0 ? 0 : 2 + (t % 2) * 9;  // 0, 2 and 11
  m.set_cell_array("region", tags, ScalarType::kInt32);
  write_mesh(m, dir / "box.msh");  // MSH 4.1 ASCII; the openCARP 'region' becomes 'physical'
  const TetMesh r = read_mesh(dir / "box.msh");
  EXPECT_EQ(r.points, m.points);
  EXPECT_EQ(r.tets, m.tets);
  EXPECT_EQ(r.cell_data.at("physical").values, m.cell_data.at("region").values);
  // MSH 2.2 has no place for untagged tets next to tagged ones.
  EXPECT_EQ(
      error_of([&] {
        write_msh(m, dir / "box22.msh", {2.2, false});
      }),
      (dir / "box22.msh").string() +
          ": MSH 2.2 cannot hold tets without a positive physical tag ('region' <= 0) next to tagged ones; "
          "write MSH 4.1");
  EXPECT_FALSE(fs::exists(dir / "box22.msh"));
  m.cell_data.clear();
  write_msh(m, dir / "plain22.msh", {2.2, true});
  EXPECT_EQ(read_mesh(dir / "plain22.msh").cell_data.at("physical").values.cwiseAbs().maxCoeff(), 0.0);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file();
  EXPECT_EQ(entries, 2);  // box.msh and plain22.msh, no temporaries
}

TEST(GmshIo, BadFilesGiveOneLineErrors) {
  test::TempDir dir("gmsh_bad");
  const std::string lv = test::read_bytes(patient_lv());
  auto error_for = [&](const std::string& name, const std::string& bytes) {
    test::write_bytes(dir / name, bytes);
    return error_of([&] { read_mesh(dir / name); });
  };
  const std::string p = (dir / "x.msh").string();
  EXPECT_EQ(error_for("x.msh", lv.substr(0, 30000)),
            p + ": cannot read Gmsh mesh (Error loading '" + p + "')");
  EXPECT_EQ(error_for("x.msh", "Point(1) = {0, 0, 0};\n"),
            p + ": not a Gmsh MSH 2 or 4 file (it does not start with $MeshFormat)");
  EXPECT_EQ(error_for("x.msh", ""), p + ": not a Gmsh MSH 2 or 4 file (it does not start with $MeshFormat)");
  const std::string header = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n";
  const std::string nodes = "$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 0 1 0\n4 0 0 1\n$EndNodes\n";
  EXPECT_EQ(error_for("x.msh", header + nodes + "$Elements\n1\n1 2 2 3 1 1 2 3\n$EndElements\n"),
            p + ": mesh has no linear tetrahedra (Gmsh type 4); it holds 1 × Triangle 3 (type 2)");
  const std::string ten_nodes =
      "$Nodes\n10\n1 0 0 0\n2 2 0 0\n3 0 2 0\n4 0 0 2\n5 1 0 0\n6 1 1 0\n7 0 1 0\n8 0 0 1\n9 0 1 1\n10 1 0 "
      "1\n"
      "$EndNodes\n";
  EXPECT_EQ(error_for("x.msh",
                      header + ten_nodes + "$Elements\n1\n1 11 2 6 1 1 2 3 4 5 6 7 8 9 10\n$EndElements\n"),
            p + ": mesh has no linear tetrahedra (Gmsh type 4); it holds 1 × Tetrahedron 10 (type 11)");
  EXPECT_EQ(error_for("x.msh", header + nodes + "$Elements\n1\n1 4 2 6 1 1 2 3 9\n$EndElements\n"),
            p + ": cannot read Gmsh mesh (Wrong node index 9)");
  EXPECT_EQ(error_for("x.msh", header + nodes + "$Elements\n1\n1 4 2 6 1 1 2 3 3\n$EndElements\n"),
            p + ": tet 0 has zero volume (degenerate)");
  // A node tag out of range in an MSH 4.1 binary element block. (Gmsh 4.8 crashes on some such
  // corruptions, in the child process that reads for us: child_process_test.cpp.)
  write_msh(box_mesh(1, 1, 1, Eigen::Vector3d(1, 1, 1)), dir / "b.msh", {4.1, true});
  const std::string bin = test::read_bytes(dir / "b.msh");
  // $Elements: 4 size_t counts, one block header (3 ints + a size_t), then tag + 4 node tags.
  const std::size_t first_node = bin.find("$Elements\n") + 10 + 32 + 12 + 8 + 8;
  auto with_node = [&](std::uint64_t tag) {
    std::string b = bin;
    std::memcpy(&b[first_node], &tag, 8);
    return b;
  };
  EXPECT_EQ(error_for("x.msh", with_node(999999)),
            p + ": cannot read Gmsh mesh (Unknown node 999999 in element 1)");
  fs::remove(dir / "x.msh");
  EXPECT_EQ(error_of([&] { read_mesh(dir / "x.msh"); }), p + ": file does not exist");
}

}  // namespace
}  // namespace metaeik::geometry
