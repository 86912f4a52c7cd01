// `metaeikonal personalize`: one feed-forward personalisation of a trained meta-PINN to a new
// subject from k context maps and the early part of a query map → .vtu (+ .json metrics).

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "eikonal/dataset.hpp"
#include "geometry/vtk_io.hpp"
#include "metapinn/personalize.hpp"
#include "tools/commands.hpp"

namespace fs = std::filesystem;

namespace metaeik::tools {

namespace {

struct PersonalizeArgs {
  std::string model, checkpoint = "best", query, output, device = "cpu";
  std::vector<std::string> contexts;
  std::string at_array = "activation_time", mask_array = "observed", speed_array = "speed";
};

/// A map resolved from `DATASET_DIR#INDEX` or a .vtu file.
struct LoadedMap {
  std::string ref;
  std::shared_ptr<const geometry::TetMesh> mesh;
  Eigen::VectorXd observation;  ///< ms, used where observed
  Eigen::VectorXi observed;
  Eigen::VectorXd truth;  ///< empty if unknown
  Eigen::VectorXd speed;  ///< empty if unknown
};

class MapResolver {
 public:
  explicit MapResolver(const PersonalizeArgs& a) : args_(a) {}

  LoadedMap load(const std::string& ref) {
    LoadedMap m;
    m.ref = ref;
    const auto hash = ref.rfind('#');
    if (hash != std::string::npos) {
      const std::string dir = ref.substr(0, hash), index = ref.substr(hash + 1);
      int i = -1;
      try {
        std::size_t used = 0;
        i = std::stoi(index, &used);
        if (used != index.size()) i = -1;
      } catch (const std::exception&) {
      }
      METAEIK_CHECK(
          i >= 0, "map reference '" << ref << "': expected DATASET_DIR#MAP_INDEX with a non-negative index");
      auto& ds = dataset(dir);
      METAEIK_CHECK(i < int(ds.maps().size()),
                    "map reference '" << ref << "': the dataset has " << ds.maps().size() << " maps");
      const int subject = ds.maps()[i].subject, g = ds.subjects()[subject].geometry;
      auto key = dir + "#geometry" + std::to_string(g);
      if (!meshes_.count(key)) {
        auto mesh = std::make_shared<geometry::TetMesh>();
        mesh->points = ds.mesh(g).points;
        mesh->tets = ds.mesh(g).tets;
        for (const char* label : {"surface", "aha"})
          if (ds.mesh(g).has_point_array(label)) mesh->point_data[label] = ds.mesh(g).point_data.at(label);
        meshes_[key] = mesh;
      }
      m.mesh = meshes_[key];
      m.observation = ds.observation(i);
      m.observed = ds.observation_mask(g);
      m.truth = ds.activation(i);
      m.speed = ds.speed(subject);
      return m;
    }
    METAEIK_CHECK(fs::path(ref).extension() == ".vtu" || fs::path(ref).extension() == ".vtk",
                  "map '" << ref << "': expected a .vtu/.vtk file or DATASET_DIR#MAP_INDEX");
    auto mesh = std::make_shared<geometry::TetMesh>(geometry::read_mesh(ref));
    METAEIK_CHECK(mesh->has_point_array(args_.at_array),
                  ref << ": no point array '" << args_.at_array << "' (set --at-array)");
    METAEIK_CHECK(mesh->has_point_array(args_.mask_array),
                  ref << ": no point array '" << args_.mask_array << "' (set --mask-array)");
    m.observation = mesh->point_scalar(args_.at_array);
    m.observed = mesh->point_labels(args_.mask_array);
    METAEIK_CHECK(m.observed.sum() > 0,
                  ref << ": the observation mask '" << args_.mask_array << "' is empty");
    if (m.observation.allFinite()) m.truth = m.observation;  // complete map: also the truth
    if (mesh->has_point_array(args_.speed_array)) m.speed = mesh->point_scalar(args_.speed_array);
    for (auto it = mesh->point_data.begin(); it != mesh->point_data.end();)
      it = (it->first == "surface" || it->first == "aha") ? std::next(it) : mesh->point_data.erase(it);
    mesh->cell_data.clear();
    m.mesh = mesh;
    return m;
  }

 private:
  const eikonal::Dataset& dataset(const std::string& dir) {
    auto it = datasets_.find(dir);
    if (it == datasets_.end()) it = datasets_.emplace(dir, eikonal::Dataset::load(dir)).first;
    return it->second;
  }
  const PersonalizeArgs& args_;
  std::map<std::string, eikonal::Dataset> datasets_;
  std::map<std::string, std::shared_ptr<geometry::TetMesh>> meshes_;
};

bool same_mesh(const geometry::TetMesh& a, const geometry::TetMesh& b) {
  if (a.num_points() != b.num_points()) return false;
  const double size = (a.points.colwise().maxCoeff() - a.points.colwise().minCoeff()).norm();
  return (a.points - b.points).cwiseAbs().maxCoeff() <= 1e-6 * std::max(size, 1.0);
}

}  // namespace

void add_personalize_command(CLI::App& app) {
  auto args = std::make_shared<PersonalizeArgs>();
  auto* cmd = app.add_subcommand(
      "personalize",
      "Personalise a trained meta-PINN to a subject in one feed-forward pass (AT, velocity, residual)");
  cmd->add_option("-m,--model", args->model, "Run directory written by `metaeikonal train`")->required();
  cmd->add_option(
         "--context", args->contexts,
         "Context maps of the subject: DATASET_DIR#MAP_INDEX or .vtu files with an AT array and a mask")
      ->required();
  cmd->add_option("--query", args->query, "The query map (only its earliest observations are used)")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output .vtu (a .json with metrics is written next to it)")
      ->required();
  cmd->add_option("--at-array", args->at_array, "AT point array of .vtu maps (ms)");
  cmd->add_option("--mask-array", args->mask_array,
                  "Observation-mask point array of .vtu maps (1 = observed)");
  cmd->add_option("--speed-array", args->speed_array,
                  "True velocity point array of .vtu maps, if present (mm/ms)");
  cmd->add_option("--device", args->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--checkpoint", args->checkpoint,
                  "Which checkpoint of the run: best (highest validation AT "
                  "correlation) or last")
      ->check(CLI::IsMember({"best", "last"}));
  cmd->callback([args] {
    core::Stopwatch total;
    const fs::path out = args->output;
    METAEIK_CHECK(out.extension() == ".vtu",
                  "--output: expected a .vtu file name, got '" << args->output << "'");
    auto model = metapinn::load_model(args->model, args->device, args->checkpoint);
    MapResolver resolver(*args);
    LoadedMap query = resolver.load(args->query);
    std::vector<Eigen::VectorXd> contexts;
    for (const auto& ref : args->contexts) {
      LoadedMap c = resolver.load(ref);
      METAEIK_CHECK(same_mesh(*c.mesh, *query.mesh), "context map '"
                                                         << ref << "' is on a different mesh than the query '"
                                                         << args->query << "' (" << c.mesh->num_points()
                                                         << " vs " << query.mesh->num_points() << " points)");
      METAEIK_CHECK(c.observed == query.observed,
                    "context map '" << ref << "' has a different observation mask than the query");
      contexts.push_back(c.observation);
    }
    const auto& cfg = model.config;
    auto geometry = metapinn::prepare_geometry(query.mesh->points, query.mesh->tets, query.observed, cfg.data,
                                               int(cfg.model.kernel_size), model.device);
    auto p = metapinn::personalize(model, geometry, contexts, query.observation, query.observed);
    // A second pass for the steady-state latency (the first includes one-off allocations).
    auto p2 = metapinn::personalize(model, geometry, contexts, query.observation, query.observed);

    geometry::TetMesh result = *query.mesh;
    result.set_point_array("activation_time_pred", p.times);
    result.set_point_array("velocity_pred", p.speed);
    result.set_point_array("pde_residual", p.residual);
    result.set_point_labels("observed", query.observed);
    core::Json metrics;
    if (query.truth.size()) {
      result.set_point_array("activation_time_true", query.truth);
      result.set_point_array("error", p.times - query.truth);
    }
    if (query.speed.size()) {
      result.set_point_array("velocity_true", query.speed);
      result.set_point_array("velocity_error", p.speed - query.speed);
    }
    if (query.truth.size()) {
      auto m = metapinn::map_metrics(p, query.truth, query.speed, query.observed);
      auto num = [](double v) { return std::isfinite(v) ? core::Json(v) : core::Json(nullptr); };
      metrics = {{"at_rel_error", num(m.at_rel_error)},
                 {"at_corr", num(m.at_corr)},
                 {"at_rel_error_endo", num(m.at_rel_error_endo)},
                 {"at_rel_error_rest", num(m.at_rel_error_rest)},
                 {"at_corr_endo", num(m.at_corr_endo)},
                 {"at_corr_rest", num(m.at_corr_rest)},
                 {"v_rel_error", num(m.v_rel_error)},
                 {"v_corr", num(m.v_corr)}};
    }
    metrics["pde_residual_mean"] = p.residual.cwiseAbs().mean();
    geometry::write_mesh(result, out);
    core::Json report = {{"model", args->model},
                         {"query", args->query},
                         {"contexts", args->contexts},
                         {"k", contexts.size()},
                         {"nodes", query.mesh->num_points()},
                         {"device", args->device},
                         {"metrics", metrics},
                         {"personalization_seconds", p2.forward_seconds},
                         {"first_pass_seconds", p.forward_seconds},
                         {"total_seconds", total.seconds()},
                         {"output", out.string()}};
    fs::path json_path = out;
    json_path.replace_extension(".json");
    core::save_json_file(json_path, report);
    spdlog::info("personalised in {:.1f} ms (forward pass); wrote {} and {}", 1e3 * p2.forward_seconds,
                 out.string(), json_path.string());
    if (metrics.contains("at_corr"))
      spdlog::info("AT correlation {:.3f}, relative error {:.3f}; velocity correlation {}",
                   metrics["at_corr"].is_null() ? NAN : metrics["at_corr"].get<double>(),
                   metrics["at_rel_error"].is_null() ? NAN : metrics["at_rel_error"].get<double>(),
                   metrics["v_corr"].dump());
  });
}

}  // namespace metaeik::tools
