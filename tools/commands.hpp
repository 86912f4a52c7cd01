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

}  // namespace metaeik::tools
