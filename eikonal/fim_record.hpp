#pragma once
// Internal to eikonal/: the solver's state and what a recorded solve keeps for the adjoint
// (eikonal/fim.cpp fills it, eikonal/fim_adjoint.cpp reads it). Not part of the public API.

#include <Eigen/Core>
#include <vector>

#include "eikonal/batch.hpp"
#include "eikonal/fim.hpp"
#include "eikonal/local_update.hpp"
#include "eikonal/source_ball.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal {

struct FimSolver::Impl : detail::SolverState {
  using SolverState::SolverState;
};

struct SolveRecord::Data {
  const void* owner = nullptr;  ///< the FimSolver::Impl that made the record
  SpeedField speed;             ///< the solve's inputs, as given (mesh numbering)
  std::vector<Source> sources;
  detail::TetMetric metric;             ///< internal tet order
  Eigen::VectorXd times;                ///< #P final times, internal node order
  std::vector<detail::Parent> parents;  ///< #P what gave each final time, internal node order
  std::vector<detail::BallInfo> balls;  ///< per source (empty when source_radius = 0)
  SolveStats stats;
};

}  // namespace metaeik::eikonal
