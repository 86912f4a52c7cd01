// Python bindings: FIM and Dijkstra solvers (isotropic and anisotropic, one solve or a batch) and
// activation-map datasets (generate, load, iterate).

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "eikonal/dataset.hpp"
#include "eikonal/dataset_generate.hpp"
#include "eikonal/dijkstra.hpp"
#include "eikonal/fim.hpp"
#include "python/bindings.hpp"

namespace metaeik::python {

namespace {

namespace fs = std::filesystem;
using eikonal::SpeedField;
using geometry::TetMesh;

/// A solver with the mesh sizes it was built for (to tell per-node from per-tet speeds).
template <class Solver>
struct BoundSolver {
  BoundSolver(const TetMesh& mesh, const eikonal::FimOptions& options)
      : solver(mesh, options), points(mesh.num_points()), tets(mesh.num_tets()) {}
  Solver solver;
  int points, tets;
};

TetMesh mesh_of(const geometry::Points& points, const geometry::Tets& tets) {
  TetMesh mesh;
  mesh.points = points;
  mesh.tets = tets;
  return mesh;
}

/// A speed argument: a SpeedField, a number (uniform, per node) or an array of #P (per node) or #T
/// (per tet) values; `location` "auto", "node" or "tet"; optional #T×3 fibres.
SpeedField speed_field(const py::handle& speed, const py::handle& fibers, double transverse_ratio,
                       const std::string& location, int points, int tets) {
  METAEIK_CHECK(location == "auto" || location == "node" || location == "tet",
                "location: expected auto, node or tet, got '" << location << "'");
  if (py::isinstance<SpeedField>(speed)) {
    METAEIK_CHECK(fibers.is_none(), "fibers: give them in the SpeedField, not next to it");
    return speed.cast<SpeedField>();
  }
  SpeedField f;
  if (py::isinstance<py::float_>(speed) || py::isinstance<py::int_>(speed) ||
      (py::isinstance<py::array>(speed) && py::reinterpret_borrow<py::array>(speed).ndim() == 0)) {
    METAEIK_CHECK(location != "tet", "location 'tet' needs one speed per tet, got a single number");
    f.speed = Eigen::VectorXd::Constant(points, speed.cast<double>());
  } else {
    f.speed = speed.cast<Eigen::VectorXd>();
    const bool tet = location == "tet" || (location == "auto" && f.speed.size() == tets && tets != points);
    f.location = tet ? SpeedField::Location::kTet : SpeedField::Location::kNode;
  }
  if (!fibers.is_none()) f.fibers = fibers.cast<geometry::Points>();
  f.transverse_ratio = transverse_ratio;
  return f;
}

/// Sources: a node index, a Source, a (node, onset) pair, or a sequence/array of these.
std::vector<eikonal::Source> sources_of(const py::handle& arg) {
  auto one = [](const py::handle& item) {
    if (py::isinstance<eikonal::Source>(item)) return item.cast<eikonal::Source>();
    if (py::isinstance<py::sequence>(item) && !py::isinstance<py::str>(item)) {
      const auto pair = py::reinterpret_borrow<py::sequence>(item);
      METAEIK_CHECK(pair.size() == 2,
                    "sources: expected NODE or (NODE, ONSET_MS), got a sequence of " << pair.size());
      return eikonal::Source{pair[0].cast<int>(), pair[1].cast<double>()};
    }
    return eikonal::Source{item.cast<int>(), 0.0};
  };
  std::vector<eikonal::Source> sources;
  const bool scalar =
      py::isinstance<eikonal::Source>(arg) || py::isinstance<py::int_>(arg) ||
      (py::isinstance<py::array>(arg) && py::reinterpret_borrow<py::array>(arg).ndim() == 0) ||
      !py::hasattr(arg, "__iter__");
  if (scalar) {
    sources.push_back(one(arg));
    return sources;
  }
  for (const auto item : py::reinterpret_borrow<py::iterable>(arg)) sources.push_back(one(item));
  return sources;
}

constexpr const char* kSpeedDoc =
    "speed: a SpeedField, a number (uniform, mm/ms) or an array of #P (per node) or #T (per tet) speeds "
    "(`location` 'auto' decides by the length, 'node' or 'tet' force it); fibers: None (isotropic) or #T×3 "
    "fibre directions, then `speed` is along the fibres and transverse_ratio = v_sheet / v_fibre; sources: a "
    "node, a (node, onset_ms) pair, a Source or a list/array of these.";

template <class Solver>
void bind_solver(py::module_& m, const char* name, const char* doc) {
  using Bound = BoundSolver<Solver>;
  py::class_<Bound>(m, name, doc)
      .def(py::init([](const geometry::Points& points, const geometry::Tets& tets,
                       const eikonal::FimOptions& options) {
             const TetMesh mesh = mesh_of(points, tets);
             py::gil_scoped_release release;
             return new Bound(mesh, options);
           }),
           py::arg("points"), py::arg("tets"), py::arg("options") = eikonal::FimOptions(),
           "Precomputes topology and per-tet geometry for #P×3 points (mm) and #T×4 tets.")
      .def(py::init([](const TetMesh& mesh, const eikonal::FimOptions& options) {
             py::gil_scoped_release release;
             return new Bound(mesh, options);
           }),
           py::arg("mesh"), py::arg("options") = eikonal::FimOptions(), "The same from a TetMesh.")
      .def_property_readonly(
          "options", [](const Bound& b) { return b.solver.options(); }, "The FimOptions.")
      .def_property_readonly(
          "num_points", [](const Bound& b) { return b.points; }, "#P")
      .def_property_readonly(
          "num_tets", [](const Bound& b) { return b.tets; }, "#T")
      .def(
          "solve",
          [](const Bound& b, py::handle speed, py::handle sources, py::handle fibers, double transverse_ratio,
             const std::string& location) {
            const SpeedField f = speed_field(speed, fibers, transverse_ratio, location, b.points, b.tets);
            const auto s = sources_of(sources);
            eikonal::SolveResult r;
            {
              py::gil_scoped_release release;
              r = b.solver.solve(f, s);
            }
            return std::move(r.times);
          },
          py::arg("speed"), py::arg("sources"), py::arg("fibers") = py::none(),
          py::arg("transverse_ratio") = 1.0, py::arg("location") = "auto",
          (std::string("One solve → #P activation times (ms; inf where no source reaches), a new float64 "
                       "array that owns the solver's result (no copy). ") +
           kSpeedDoc)
              .c_str())
      .def(
          "solve_with_stats",
          [](const Bound& b, py::handle speed, py::handle sources, py::handle fibers, double transverse_ratio,
             const std::string& location) {
            const SpeedField f = speed_field(speed, fibers, transverse_ratio, location, b.points, b.tets);
            const auto s = sources_of(sources);
            eikonal::SolveResult r;
            {
              py::gil_scoped_release release;
              r = b.solver.solve(f, s);
            }
            return py::make_tuple(py::cast(std::move(r.times)), r.stats);
          },
          py::arg("speed"), py::arg("sources"), py::arg("fibers") = py::none(),
          py::arg("transverse_ratio") = 1.0, py::arg("location") = "auto",
          "As solve, returning (times, SolveStats).")
      .def(
          "solve_batch",
          [](const Bound& b, const py::list& speeds, const py::list& items) {
            std::vector<SpeedField> fields;
            for (const auto s : speeds)
              fields.push_back(speed_field(s, py::none(), 1.0, "auto", b.points, b.tets));
            std::vector<eikonal::BatchItem> batch;
            for (const auto item : items) {
              if (py::isinstance<eikonal::BatchItem>(item)) {
                batch.push_back(item.cast<eikonal::BatchItem>());
                continue;
              }
              const auto pair = item.cast<py::sequence>();
              METAEIK_CHECK(
                  pair.size() == 2,
                  "solve_batch: each item is (speed_index, sources), got a sequence of " << pair.size());
              batch.push_back({pair[0].cast<int>(), sources_of(pair[1])});
            }
            std::vector<eikonal::SolveResult> results;
            {
              py::gil_scoped_release release;
              results = b.solver.solve_batch(fields, batch);
            }
            py::list out;
            for (auto& r : results) out.append(py::cast(std::move(r.times)));
            return out;
          },
          py::arg("speeds"), py::arg("items"),
          "Independent solves in parallel (OpenMP over items, bit-identical to one-by-one solves). speeds: a "
          "list of SpeedField, numbers or per-node/per-tet arrays (use SpeedField for fibres); items: a list "
          "of "
          "(speed_index, sources) or BatchItem. Returns a list of #P time arrays, item by item (np.stack "
          "them "
          "for a 2-D array).");
}

/// One map of a dataset, as iteration yields it.
struct DatasetSample {
  int index = 0, subject = 0, geometry = 0;
  std::string split;
  std::vector<eikonal::Source> sources;
  Eigen::VectorXd times, observation;
};

DatasetSample sample(const eikonal::Dataset& ds, py::ssize_t i) {
  if (i < 0) i += py::ssize_t(ds.maps().size());
  if (i < 0 || i >= py::ssize_t(ds.maps().size())) throw py::index_error("map index out of range");
  const auto& map = ds.maps()[i];
  return {int(i),      map.subject,           ds.geometry_of_map(int(i)), map.split,
          map.sources, ds.activation(int(i)), ds.observation(int(i))};
}

}  // namespace

void bind_eikonal(py::module_& m) {
  py::class_<eikonal::FimOptions>(m, "FimOptions", "Solver options (eikonal/fim.hpp), with their defaults.")
      .def(
          py::init([](double tolerance, int max_iterations, int threads, double band, double source_radius) {
            return eikonal::FimOptions{tolerance, max_iterations, threads, band, source_radius};
          }),
          py::arg("tolerance") = eikonal::FimOptions().tolerance,
          py::arg("max_iterations") = eikonal::FimOptions().max_iterations,
          py::arg("threads") = eikonal::FimOptions().threads, py::arg("band") = eikonal::FimOptions().band,
          py::arg("source_radius") = eikonal::FimOptions().source_radius,
          "tolerance (ms), max_iterations (sweeps), threads (0 = OpenMP default), band (ms; < 0 automatic, 0 "
          "off), source_radius (cells of the exact start ball; 0 = plain point sources).")
      .def_readwrite("tolerance", &eikonal::FimOptions::tolerance)
      .def_readwrite("max_iterations", &eikonal::FimOptions::max_iterations)
      .def_readwrite("threads", &eikonal::FimOptions::threads)
      .def_readwrite("band", &eikonal::FimOptions::band)
      .def_readwrite("source_radius", &eikonal::FimOptions::source_radius);

  py::class_<eikonal::Source>(m, "Source", "A source node with its onset time (ms).")
      .def(py::init([](int node, double time) {
             return eikonal::Source{node, time};
           }),
           py::arg("node"), py::arg("time") = 0.0)
      .def_readwrite("node", &eikonal::Source::node)
      .def_readwrite("time", &eikonal::Source::time)
      .def("__repr__", [](const eikonal::Source& s) {
        return "Source(" + std::to_string(s.node) + ", " + std::to_string(s.time) + ")";
      });

  py::class_<eikonal::BatchItem>(m, "BatchItem", "One solve of a batch: a speed index and its sources.")
      .def(py::init([](int speed, py::handle sources) {
             return eikonal::BatchItem{speed, sources_of(sources)};
           }),
           py::arg("speed"), py::arg("sources"))
      .def_readwrite("speed", &eikonal::BatchItem::speed)
      .def_readwrite("sources", &eikonal::BatchItem::sources);

  py::class_<SpeedField>(
      m, "SpeedField",
      "Conduction velocity (eikonal/fim.hpp): isotropic D = v² I, or with fibres D = v_f² f fᵀ + "
      "v_s² (I − f fᵀ), v_f = speed, v_s = speed · transverse_ratio.")
      .def(py::init([](const Eigen::VectorXd& speed, const std::string& location, py::handle fibers,
                       double transverse_ratio) {
             METAEIK_CHECK(location == "node" || location == "tet",
                           "location: expected node or tet, got '" << location << "'");
             SpeedField f;
             f.speed = speed;
             f.location = location == "tet" ? SpeedField::Location::kTet : SpeedField::Location::kNode;
             if (!fibers.is_none()) f.fibers = fibers.cast<geometry::Points>();
             f.transverse_ratio = transverse_ratio;
             return f;
           }),
           py::arg("speed"), py::arg("location") = "node", py::arg("fibers") = py::none(),
           py::arg("transverse_ratio") = 1.0,
           "speed: #P (location 'node') or #T ('tet') speeds in mm/ms (copied); fibers: None or #T×3.")
      .def_readwrite("speed", &SpeedField::speed, "Speeds (mm/ms), a view.")
      .def_readwrite("fibers", &SpeedField::fibers, "#T×3 fibre directions (empty = isotropic), a view.")
      .def_readwrite("transverse_ratio", &SpeedField::transverse_ratio)
      .def_property_readonly("location", [](const SpeedField& f) {
        return f.location == SpeedField::Location::kTet ? "tet" : "node";
      });

  py::class_<eikonal::SolveStats>(m, "SolveStats", "Statistics of one solve.")
      .def_readonly("iterations", &eikonal::SolveStats::iterations)
      .def_readonly("local_updates", &eikonal::SolveStats::local_updates)
      .def_readonly("node_updates", &eikonal::SolveStats::node_updates)
      .def_readonly("converged", &eikonal::SolveStats::converged)
      .def("__repr__", [](const eikonal::SolveStats& s) {
        return "SolveStats(iterations=" + std::to_string(s.iterations) +
               ", local_updates=" + std::to_string(s.local_updates) +
               ", converged=" + (s.converged ? "True" : "False") + ")";
      });

  bind_solver<eikonal::FimSolver>(
      m, "FimSolver",
      "Fast iterative method for |∇T|_D = 1 (eikonal::FimSolver): build once per mesh, then solve or "
      "solve_batch any number of times. Results are bit-identical for any thread count and equal to the "
      "CLI's `metaeikonal solve` on the same inputs.");
  bind_solver<eikonal::DijkstraSolver>(
      m, "DijkstraSolver",
      "Dijkstra shortest paths along mesh edges with the same per-tet metric (eikonal::DijkstraSolver): the "
      "low-accuracy reference, an upper bound of the FIM times. Only options.threads is used.");

  // ---------------------------------------------------------------------------------- datasets --
  m.def(
      "default_dataset_config", [] { return to_python(eikonal::to_json(eikonal::default_dataset_config())); },
      "The built-in dataset config (the paper's set-up, configs/dataset/default.json) as a dict.");
  m.def(
      "generate_dataset",
      [](py::handle config, const fs::path& directory, bool force) {
        std::string source;
        const core::Json json = json_argument(config, "dataset config", &source);
        const bool file = source != "dataset config";
        core::JsonReader reader(json, source);
        const auto c =
            eikonal::read_dataset_config(reader, file ? fs::path(source).parent_path() : fs::current_path());
        py::gil_scoped_release release;
        eikonal::generate_dataset(c, directory, force, nullptr, source);
      },
      py::arg("config"), py::arg("directory"), py::arg("force") = false,
      "Generates an activation-map dataset (eikonal/dataset_generate.hpp) into `directory` atomically. "
      "config: "
      "a dict with the keys of configs/dataset/*.json (absent keys keep the defaults; relative mesh paths "
      "are "
      "relative to the working directory) or the path of such a file. An existing directory is refused "
      "unless force.");

  py::class_<eikonal::DatasetMap>(m, "DatasetMapInfo", "A map's manifest entry.")
      .def_readonly("subject", &eikonal::DatasetMap::subject)
      .def_readonly("sources", &eikonal::DatasetMap::sources)
      .def_readonly("split", &eikonal::DatasetMap::split)
      .def_readonly("at_array", &eikonal::DatasetMap::at_array)
      .def_readonly("obs_array", &eikonal::DatasetMap::obs_array);
  py::class_<eikonal::DatasetSubject>(m, "DatasetSubject", "A subject's manifest entry (geometry × scar).")
      .def_readonly("geometry", &eikonal::DatasetSubject::geometry)
      .def_readonly("scar", &eikonal::DatasetSubject::scar)
      .def_readonly("speed_array", &eikonal::DatasetSubject::speed_array)
      .def_readonly("scar_array", &eikonal::DatasetSubject::scar_array)
      .def_readonly("scar_segments", &eikonal::DatasetSubject::scar_segments)
      .def_readonly("healthy_speed", &eikonal::DatasetSubject::healthy_speed)
      .def_readonly("scar_speed", &eikonal::DatasetSubject::scar_speed)
      .def_readonly("scar_nodes", &eikonal::DatasetSubject::scar_nodes);
  py::class_<eikonal::DatasetGeometry>(m, "DatasetGeometry", "A geometry's manifest entry.")
      .def_readonly("name", &eikonal::DatasetGeometry::name)
      .def_readonly("file", &eikonal::DatasetGeometry::file)
      .def_readonly("nodes", &eikonal::DatasetGeometry::nodes)
      .def_readonly("tets", &eikonal::DatasetGeometry::tets)
      .def_readonly("observed_nodes", &eikonal::DatasetGeometry::observed_nodes)
      .def_readonly("source", &eikonal::DatasetGeometry::source);

  py::class_<DatasetSample>(m, "DatasetSample",
                            "One map of a dataset with its arrays (what iteration yields).")
      .def_readonly("index", &DatasetSample::index, "Map index in the manifest.")
      .def_readonly("subject", &DatasetSample::subject)
      .def_readonly("geometry", &DatasetSample::geometry)
      .def_readonly("split", &DatasetSample::split, "'train', 'val' or 'test'.")
      .def_readonly("sources", &DatasetSample::sources, "Origin node(s) and onset times.")
      .def_readonly("times", &DatasetSample::times, "#P true activation times (ms).")
      .def_readonly("observation", &DatasetSample::observation, "#P observed (possibly noisy) times (ms).");

  py::class_<eikonal::Dataset>(
      m, "Dataset",
      "A dataset directory (eikonal/dataset.hpp). len(ds) is the number of maps; ds[i] and "
      "`for sample in ds` give DatasetSample objects with their arrays.")
      .def_static("load", &eikonal::Dataset::load, py::arg("directory"),
                  py::call_guard<py::gil_scoped_release>(),
                  "Loads manifest.json and every geometry's .vtu; errors name the file and key.")
      .def_property_readonly("directory", &eikonal::Dataset::directory)
      .def_property_readonly("geometries", &eikonal::Dataset::geometries)
      .def_property_readonly("subjects", &eikonal::Dataset::subjects)
      .def_property_readonly("maps", &eikonal::Dataset::maps,
                             "Manifest entries of the maps (DatasetMapInfo).")
      .def_property_readonly("observation_mask_array", &eikonal::Dataset::observation_mask_array)
      .def_property_readonly("seed", &eikonal::Dataset::seed)
      .def("mesh", &eikonal::Dataset::mesh, py::arg("geometry"), py::return_value_policy::copy,
           "The geometry's mesh with all of its arrays (a copy).")
      .def("speed", &eikonal::Dataset::speed, py::arg("subject"), "#P true speed of a subject (mm/ms).")
      .def("activation", &eikonal::Dataset::activation, py::arg("map"), "#P true activation times (ms).")
      .def("observation", &eikonal::Dataset::observation, py::arg("map"), "#P observed times (ms).")
      .def("observation_mask", &eikonal::Dataset::observation_mask, py::arg("geometry"),
           "#P int32, 1 = observed.")
      .def("scar_mask", &eikonal::Dataset::scar_mask, py::arg("subject"), "#P int32, 1 = scar node.")
      .def("maps_of", &eikonal::Dataset::maps_of, py::arg("subject"), py::arg("split") = "",
           "Indices of a subject's maps in `split` ('' = all).")
      .def("subjects_of", &eikonal::Dataset::subjects_of, py::arg("geometry"),
           "Subject indices of a geometry.")
      .def("geometry_of_map", &eikonal::Dataset::geometry_of_map, py::arg("map"), "Geometry index of a map.")
      .def("__len__", [](const eikonal::Dataset& ds) { return ds.maps().size(); })
      .def("__getitem__", &sample, py::arg("map"));
}

}  // namespace metaeik::python
