#pragma once
// Each sub-command of the `metaeikonal` CLI lives in its own tools/*_command.cpp and is
// registered here. Handlers throw core::Error on bad input; main() prints it and exits 1.

namespace CLI {
class App;
}

namespace metaeik::tools {

void add_mesh_command(CLI::App& app);
/// `mesh generate` (tools/mesh_generate_command.cpp), attached to the `mesh` sub-command.
void add_mesh_generate_command(CLI::App& mesh);
/// `dataset generate|info|config` (tools/dataset_command.cpp).
void add_dataset_command(CLI::App& app);
/// `solve` (tools/solve_command.cpp): one FIM or Dijkstra solve → VTU.
void add_solve_command(CLI::App& app);

/// `cell` (tools/cell_command.cpp): single-cell pacing of FHN / MS / TTP06.
void add_cell_command(CLI::App& app);
/// `tissue` (tools/tissue_command.cpp): monodomain tissue simulation from a JSON config.
void add_tissue_command(CLI::App& app);

#ifdef METAEIK_WITH_TORCH
/// `train`, `personalize`, `evaluate` (tools/{train,personalize,evaluate}_command.cpp): the meta-PINN.
void add_train_command(CLI::App& app);
void add_personalize_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
/// `experiment` (tools/experiment_command.cpp): the paper-style comparison with baselines.
void add_experiment_command(CLI::App& app);
/// `fhn dataset|train|zoo|sweep|merge|bench` (tools/fhn_command.cpp): FitzHugh–Nagumo neural surrogates.
void add_fhn_command(CLI::App& app);
/// `lstm train|simulate` (tools/lstm_command.cpp): LSTM tissue simulator and latent-ODE baseline.
void add_lstm_command(CLI::App& app);
/// `aphyn train|forecast` (tools/aphyn_command.cpp): APHYN-EP Mitchell–Schaeffer + ResNet hybrid.
void add_aphyn_command(CLI::App& app);
#endif

}  // namespace metaeik::tools
