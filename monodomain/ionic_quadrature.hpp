#pragma once
// State-variable interpolation (SVI) of the ionic current for the Q1 ("fem") tissue scheme.
//
// With consistent mass M, the semi-discrete monodomain equation is M dV/dt = −K V − b + M I_stim,
// where the ionic load is b_i = ∫ φ_i I_ion(y_h) dx. "Nodal" ionic current (ICI) interpolates the
// nodal currents, I_ion(y_h) ≈ Σ_j φ_j I_ion(y_j), so M⁻¹b = I_nodal and each node keeps its own
// current. SVI instead evaluates I_ion at the element quadrature points from the interpolated
// states y_h = Σ_j φ_j y_j (Pathmanathan et al. 2011, Int J Numer Meth Biomed Eng 27:1751). It is
// computed here as the nodal current plus the correction
//     r = M⁻¹ (b − M I_nodal),   (b − M I_nodal)_i = Σ_e Σ_q w_q φ_i(x_q) [I_ion(y_h(x_q)) − Σ_j φ_j(x_q)
//     I_j],
// with 2 Gauss points per grid axis (2×2×2 per hexahedron) and M⁻¹ = M_x⁻¹ ⊗ M_y⁻¹ ⊗ M_z⁻¹
// applied with one tridiagonal solve per grid line. Interpolation is done axis by axis as
// a + ξ (b − a), so an element whose nodes hold bitwise equal states contributes exactly zero;
// such elements are skipped (a uniform state stays exactly uniform). Optionally,
// elements whose nodal V spans less than a tolerance are skipped too: SVI then only acts near
// wave fronts, which is where it differs from the nodal current.

#include <cstddef>
#include <vector>

#include "monodomain/cell_model.hpp"
#include "monodomain/tissue.hpp"

namespace metaeik::monodomain {

/// Which states are interpolated to the quadrature points.
enum class SviStates {
  kAll,      ///< every state (V, gates, concentrations): "full" SVI
  kVoltage,  ///< V only; the other states are taken from the element node nearest to the point
};

class IonicQuadrature {
 public:
  /// @param g  the vertex-centred grid (1D, 2D or 3D; axes with one node are not elements' axes)
  /// @param v_tolerance  > 0: elements whose nodal V spans at most this much (model voltage
  ///                      units) keep the nodal current (no correction; the neglected term is
  ///                      second order in the span); 0: only elements with bitwise equal states
  IonicQuadrature(const Grid& g, SviStates states = SviStates::kAll, double v_tolerance = 0);

  /// SVI correction of the ionic current (voltage units per ms), see the file comment.
  /// @param y        states of the grid's nodes, CellStates layout (n_states × n)
  /// @param r        n outputs: M⁻¹(b − M I_nodal), with I_nodal = model.ionic_current of y; the
  ///                 SVI current is I_nodal + r. Zero when no element is evaluated.
  void correction(const CellStates& y, const CellModel& model, double* r);

  /// Elements evaluated (not skipped as uniform) by the last correction() call.
  std::size_t evaluated_elements() const { return evaluated_; }

 private:
  Grid g_;
  SviStates states_;
  double v_tolerance_ = 0;
  int np_ = 1;                      // nodes (= quadrature points) per element
  long ne_[3] = {1, 1, 1};          // elements per axis
  std::vector<long> offset_;        // np: node offset of local node l from the element's base node
  int axes_ = 0;                    // element axes (grid axes with more than one node)
  std::vector<char> differs_;       // per element: evaluated this call
  std::vector<long> active_;        // evaluated elements
  std::vector<long> node_slot_;     // per node: row in nodes_ (nodes of evaluated elements) or −1
  std::vector<std::size_t> nodes_;  // nodes of evaluated elements
  std::vector<double> i_nodal_;     // their ionic currents
  std::vector<double> elem_load_;   // active × np element load vectors
  std::vector<double> yq_, iq_;     // states and currents of one block of points
  std::size_t evaluated_ = 0;
};

/// Solves M v = b in place along one axis of the grid for every grid line of that axis, where M is
/// the 1D consistent Q1 mass matrix divided by h (tridiag(1, 4, 1)/6, ends 2/6). Applying it for
/// every axis with more than one node solves the tensor-product mass matrix (divided by the cell
/// volume). OpenMP over lines.
void solve_mass_axis(const Grid& g, int axis, double* v);

}  // namespace metaeik::monodomain
