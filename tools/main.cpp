// metaeikonal: the single command-line entry point (sub-commands in tools/*_command.cpp).

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "core/error.hpp"
#include "core/log.hpp"
#include "tools/commands.hpp"

int main(int argc, char** argv) {
  using namespace metaeik;
  CLI::App app{"MetaEikonal: personalised cardiac activation modelling (FIM Eikonal solver, meta-PINN)"};
  app.set_version_flag("--version", "metaeikonal 0.1.0");
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Debug-level logging");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors; no progress bars");
  app.require_subcommand(1);
  app.parse_complete_callback([&] {
    core::setup_logging(quiet     ? core::Verbosity::kQuiet
                        : verbose ? core::Verbosity::kVerbose
                                  : core::Verbosity::kNormal);
  });

  tools::add_mesh_command(app);
  tools::add_dataset_command(app);
  tools::add_solve_command(app);
  tools::add_cell_command(app);
  tools::add_tissue_command(app);
#ifdef METAEIK_WITH_TORCH
  tools::add_train_command(app);
  tools::add_personalize_command(app);
  tools::add_evaluate_command(app);
  tools::add_experiment_command(app);
  tools::add_fhn_command(app);
  tools::add_lstm_command(app);
  tools::add_aphyn_command(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const core::Error& e) {
    spdlog::debug("raised at {}:{}", e.file(), e.line());
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
