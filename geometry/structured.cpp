#include "geometry/structured.hpp"

#include <array>
#include <cmath>

#include "core/error.hpp"

namespace metaeik::geometry {

TetMesh box_mesh(int cells_x, int cells_y, int cells_z, const Eigen::Vector3d& size,
                 const Eigen::Vector3d& origin, BoxSplit split) {
  METAEIK_CHECK(cells_x >= 1 && cells_y >= 1 && cells_z >= 1, "box mesh: cell counts must be at least 1, got "
                                                                  << cells_x << "×" << cells_y << "×"
                                                                  << cells_z);
  METAEIK_CHECK(size.allFinite() && (size.array() > 0).all(),
                "box mesh: sizes must be positive, got " << size.transpose());
  METAEIK_CHECK(origin.allFinite(), "box mesh: origin must be finite");
  const long long np = 1LL * (cells_x + 1) * (cells_y + 1) * (cells_z + 1);
  const long long nt = 6LL * cells_x * cells_y * cells_z;
  METAEIK_CHECK(np < (1LL << 31) && nt < (1LL << 31), "box mesh: too many cells (" << nt << " tets)");

  TetMesh mesh;
  mesh.points.resize(np, 3);
  const Eigen::Vector3d h(size.x() / cells_x, size.y() / cells_y, size.z() / cells_z);
  for (int k = 0; k <= cells_z; ++k)
    for (int j = 0; j <= cells_y; ++j)
      for (int i = 0; i <= cells_x; ++i) {
        const int p = box_point_index(i, j, k, cells_x, cells_y);
        // The last point of each axis lands exactly on origin + size.
        mesh.points(p, 0) = origin.x() + (i == cells_x ? size.x() : i * h.x());
        mesh.points(p, 1) = origin.y() + (j == cells_y ? size.y() : j * h.y());
        mesh.points(p, 2) = origin.z() + (k == cells_z ? size.z() : k * h.z());
      }

  // Kuhn split: for every permutation (a, b, c) of the axes, the path 0 → e_a → e_a+e_b → e_a+e_b+e_c.
  // An odd permutation gives a negatively oriented tet; its last two vertices are swapped.
  constexpr std::array<std::array<int, 3>, 6> kPerms = {
      {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}}};
  mesh.tets.resize(nt, 4);
  long long t = 0;
  for (int k = 0; k < cells_z; ++k)
    for (int j = 0; j < cells_y; ++j)
      for (int i = 0; i < cells_x; ++i) {
        // Mirrored split: the cell is reflected in each axis whose index is odd, so the diagonal
        // direction alternates from cell to cell (faces still match: a reflection in x keeps the
        // diagonal of the x-faces).
        std::array<int, 3> flip = {0, 0, 0};
        if (split == BoxSplit::kMirrored) flip = {i & 1, j & 1, k & 1};
        const std::array<int, 3> cell = {i, j, k};
        for (int p = 0; p < 6; ++p) {
          std::array<int, 3> c = cell;
          for (int a = 0; a < 3; ++a) c[a] += flip[a];
          std::array<int, 4> tet;
          tet[0] = box_point_index(c[0], c[1], c[2], cells_x, cells_y);
          for (int s = 0; s < 3; ++s) {
            const int a = kPerms[p][s];
            c[a] += flip[a] ? -1 : 1;
            tet[s + 1] = box_point_index(c[0], c[1], c[2], cells_x, cells_y);
          }
          if ((p >= 3) != ((flip[0] + flip[1] + flip[2]) % 2 == 1)) std::swap(tet[2], tet[3]);
          for (int s = 0; s < 4; ++s) mesh.tets(t, s) = tet[s];
          ++t;
        }
      }
  return mesh;
}

TetMesh cube_mesh(int cells, double side, BoxSplit split) {
  return box_mesh(cells, cells, cells, Eigen::Vector3d::Constant(side), Eigen::Vector3d::Zero(), split);
}

}  // namespace metaeik::geometry
