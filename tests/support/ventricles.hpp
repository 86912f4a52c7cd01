#pragma once
// Test fixture: a small generated BiV (≈ 1 000 nodes, one meshing pass), built once per test program.

#include "geometry/generate.hpp"

namespace metaeik::test {

/// BiV from geometry::generate_ventricle (target 1 000 nodes, seed 2), with `surface` and `aha` labels.
inline const geometry::TetMesh& small_biv() {
  static const geometry::TetMesh mesh = [] {
    geometry::GeneratorOptions g;
    g.shape = "biv";
    g.target_nodes = 1000;
    g.seed = 2;
    g.max_attempts = 1;
    return geometry::generate_ventricle(g);
  }();
  return mesh;
}

}  // namespace metaeik::test
