// Fuzzed openCARP files: seeded corruptions (truncations, bit flips, random bytes, huge or odd
// numbers) of each file of a small valid mesh must end in a one-line error or a valid mesh, fast
// and with bounded memory.

#include <gtest/gtest.h>

#include "../support/cli.hpp"
#include "../support/fuzz.hpp"
#include "geometry/opencarp_io.hpp"
#include "geometry/structured.hpp"

namespace metaeik::geometry {
namespace {

/// 2×2×2-cell box (27 points, 48 tets) with region tags and fibre + sheet vectors.
TetMesh seed_mesh() {
  TetMesh m = box_mesh(2, 2, 2, Eigen::Vector3d(2, 2, 2));
  Eigen::VectorXd region(m.num_tets());
  ArrayValues fibres(m.num_tets(), 3), sheets(m.num_tets(), 3);
  for (int t = 0; t < m.num_tets(); ++t) {
    region[t] = t % 4;
    fibres.row(t) << 1.0, 0.01 * t, 0.0;
    sheets.row(t) << 0.0, 0.0, 1.0;
  }
  m.set_cell_array("region", region, ScalarType::kInt32);
  m.set_cell_array("fiber", fibres);
  m.set_cell_array("sheet", sheets);
  return m;
}

/// Corrupts `file` of the mesh `m` (the others stay valid) and reads the mesh back.
void fuzz_one(const std::string& file, std::uint64_t seed, int cases) {
  test::TempDir dir("opencarp_fuzz_" + file.substr(file.find('.') + 1));
  write_opencarp(seed_mesh(), dir / "m.pts");
  const std::string original = test::read_bytes(dir / file);
  const auto r = test::fuzz_file(original, seed, cases, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(dir / file, bytes);
    const TetMesh m = read_opencarp(dir / "m.pts");
    if (m.num_points() <= 0 || m.num_tets() <= 0)
      throw std::logic_error("read_opencarp returned an empty mesh");
  });
  test::expect_clean(r, file);
  EXPECT_GT(r.errors, cases / 4) << file << ": most corruptions should be caught";
}

TEST(OpenCarpReader_fuzz, Points) { fuzz_one("m.pts", 201, 750); }
TEST(OpenCarpReader_fuzz, Elements) { fuzz_one("m.elem", 202, 750); }
TEST(OpenCarpReader_fuzz, Fibres) { fuzz_one("m.lon", 203, 750); }

TEST(OpenCarpReader_fuzz, VertexList) {
  test::TempDir dir("opencarp_fuzz_vtx");
  write_vtx({{0, 5, 26, 13, 13}, "intra"}, dir / "s.vtx");
  const std::string original = test::read_bytes(dir / "s.vtx");
  const auto r = test::fuzz_file(original, 204, 750, dir.path(), [&](const std::string& bytes) {
    test::write_bytes(dir / "s.vtx", bytes);
    for (int v : read_vtx(dir / "s.vtx", 27).nodes)
      if (v < 0 || v >= 27) throw std::logic_error("read_vtx returned a node out of range");
  });
  test::expect_clean(r, "s.vtx");
}

}  // namespace
}  // namespace metaeik::geometry
