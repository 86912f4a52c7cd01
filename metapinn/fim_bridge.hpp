#pragma once
// LibTorch bridge to the FIM solver (issue 13 item 3): T = FIM(speed, sources) as a torch autograd
// function, so that a network's speed field can be trained through the solve. The forward pass is
// FimSolver::solve with its SolveRecord kept in the autograd context, the backward pass
// FimSolver::vjp (∂L/∂speed per node, ∂L/∂onset per source) — the derivative of the converged
// discrete solution (eikonal/fim.hpp).

#include <torch/torch.h>

#include <vector>

#include "eikonal/fim.hpp"

namespace metaeik::metapinn {

/// Activation times [N] (ms) of the isotropic solve with per-node speeds `speed` [N] (mm/ms) from the
/// source nodes `nodes` with onsets `onset` [S] (ms). Float or double, any device: the solve runs in
/// double on the CPU and T comes back in speed's dtype and device. Differentiable in `speed` and
/// `onset` (either may be a constant). `solver` (built on the mesh of the N nodes) must outlive the
/// backward pass. Nodes no source reaches get +inf and must get a zero upstream gradient.
/// Errors (one line): sizes, a source node out of range, non-positive or non-finite speeds (the
/// solver's), a solve that did not converge (at backward).
torch::Tensor fim_times(const eikonal::FimSolver& solver, const torch::Tensor& speed,
                        const std::vector<int>& nodes, const torch::Tensor& onset);

}  // namespace metaeik::metapinn
