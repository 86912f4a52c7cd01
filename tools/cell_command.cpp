// `metaeikonal cell`: one cell model paced by a protocol → trace CSV + action-potential features.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "monodomain/cell_model.hpp"
#include "monodomain/single_cell.hpp"
#include "tools/commands.hpp"

namespace metaeik::tools {

void add_cell_command(CLI::App& app) {
  struct Args {
    std::string model = "ttp06", variant, protocol, output, features;
    double dt = 0, cycle_length = 0;
    int beats = -1;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "cell", "Single-cell pacing of an ionic model (ttp06, ms, fhn): trace CSV + AP features");
  cmd->add_option("--model", args->model, "Cell model")
      ->check(CLI::IsMember({"ttp06", "ms", "fhn"}))
      ->capture_default_str();
  cmd->add_option("--variant", args->variant, "TTP06 variant: epi (default), endo, mid");
  cmd->add_option("--protocol", args->protocol, "Pacing protocol JSON (configs/cell/*.json)")->required();
  cmd->add_option("-o,--output", args->output, "Output trace CSV (time + states)")->required();
  cmd->add_option("--features", args->features,
                  "AP features CSV, one row per beat (default: <output stem>_features.csv)");
  cmd->add_option("--dt", args->dt, "Override the protocol's time step (ms)");
  cmd->add_option("--beats", args->beats, "Override the protocol's number of beats");
  cmd->add_option("--cycle-length", args->cycle_length, "Override the protocol's cycle length (ms)");
  cmd->callback([args] {
    const core::Json json = core::load_json_file(args->protocol);
    monodomain::PacingProtocol protocol = monodomain::read_pacing_protocol(json, args->protocol);
    if (args->dt != 0) {
      METAEIK_CHECK(args->dt > 0 && args->dt <= 10,
                    "--dt: time step must be in (0, 10] ms, got " << args->dt);
      protocol.dt = args->dt;
    }
    if (args->beats >= 0) protocol.beats = args->beats;
    if (args->cycle_length != 0) {
      METAEIK_CHECK(args->cycle_length > 0, "--cycle-length: must be positive, got " << args->cycle_length);
      protocol.cycle_length = args->cycle_length;
    }
    auto model = monodomain::make_cell_model(args->model, args->variant, protocol.parameters, args->protocol);
    core::Stopwatch watch;
    const auto trace = monodomain::run_single_cell(*model, protocol);
    spdlog::info("cell: {} for {} beats of {} ms (dt {} ms) in {:.2f} s", model->name(), protocol.beats,
                 protocol.cycle_length, protocol.dt, watch.seconds());
    monodomain::write_trace_csv(trace, args->output);
    std::filesystem::path features = args->features;
    if (features.empty()) {
      const std::filesystem::path out(args->output);
      features = out.parent_path() / (out.stem().string() + "_features.csv");
    }
    monodomain::write_features_csv(trace, features);
    for (const auto& f : trace.beats)
      spdlog::info("beat {:3d}: rest {:8.3f}  peak {:7.2f}  dV/dt max {:7.1f}  APD50 {:6.1f}  APD90 {:6.1f}",
                   f.beat, f.resting, f.peak, f.dvdt_max, f.apd50, f.apd90);
    spdlog::info("cell: wrote {} and {}", args->output, features.string());
  });
}

}  // namespace metaeik::tools
