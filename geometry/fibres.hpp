#pragma once
// Fibre directions per tet from fibre directions per node.

#include <string>

#include "geometry/tet_mesh.hpp"

namespace metaeik::geometry {

/// Fibre direction per tet (#T×3, unit length) from per-node fibres (#P×3): the principal axis of
/// Σ f fᵀ over the tet's four normalised node fibres (fibres are axial: f and −f are the same
/// direction). `what` names the array in messages, e.g. "heart.vtu: fibre array 'fiber'"; a zero
/// or non-finite node fibre is an error "<what> at node N is zero or not finite".
Points tet_fibres(const TetMesh& mesh, const ArrayValues& point_fibres, const std::string& what);

}  // namespace metaeik::geometry
