// Python bindings: monodomain tissue runs from a config and their states.bin as a NumPy array.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "monodomain/tissue_run.hpp"
#include "python/bindings.hpp"
#ifdef METAEIK_WITH_TORCH
#include "surrogates/lstm/states_dataset.hpp"  // torch-free header (the states.bin reader)
#endif

namespace metaeik::python {

namespace {

namespace fs = std::filesystem;

/// A NumPy array that takes over `values` (no copy); `shape` must multiply to its size.
template <class T>
py::array owning_array(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), free);
}

}  // namespace

void bind_monodomain(py::module_& m) {
  m.def(
      "run_tissue",
      [](py::handle config, const fs::path& output, bool overwrite) {
        std::string source;
        core::Json json = json_argument(config, "tissue config", &source);
        METAEIK_CHECK(json.is_object(), source << ": expected a JSON object");
        const auto cfg = monodomain::read_tissue_config(json, fs::path(source).filename().string());
        monodomain::TissueRunSummary summary;
        {
          py::gil_scoped_release release;
          summary = monodomain::run_tissue(cfg, output, overwrite);
        }
        const auto& g = cfg.tissue.grid;
        py::dict out;
        out["activation_time"] =
            owning_array(std::move(summary.result.activation_time), {py::ssize_t(g.size())});
        out["apd90"] = owning_array(std::move(summary.result.apd90), {py::ssize_t(g.size())});
        out["grid_nodes"] = py::make_tuple(g.nx, g.ny, g.nz);
        out["spacing_mm"] = py::make_tuple(g.dx, g.dy, g.dz);
        out["t_end"] = summary.result.t_end;
        out["steps"] = summary.result.steps;
        out["wall_seconds"] = summary.result.wall_seconds;
        py::list probes;
        for (const auto& p : summary.probes) {
          py::dict d;
          d["name"] = p.name;
          d["point"] = py::make_tuple(p.point[0], p.point[1], p.point[2]);
          d["node"] = p.node;
          d["activation_time"] = p.activation_time;
          d["apd90"] = p.apd90;
          probes.append(d);
        }
        out["probes"] = probes;
        return out;
      },
      py::arg("config"), py::arg("output"), py::arg("overwrite") = false,
      "Runs a monodomain tissue simulation like `metaeikonal tissue --config CONFIG -o OUTPUT` "
      "(monodomain/tissue_run.hpp; output directory as monodomain/FORMAT.md). config: a dict with the keys "
      "of configs/tissue/*.json or the path of such a file. Returns a dict: activation_time and apd90 (#N "
      "float64 arrays, ms, NaN = never; node index i + nx·(j + ny·k)), grid_nodes, spacing_mm, t_end, steps, "
      "wall_seconds and probes (list of dicts).");

#ifdef METAEIK_WITH_TORCH
  m.def(
      "read_states",
      [](const fs::path& directory, py::object variables) {
        std::vector<std::string> names;
        if (variables.is_none()) {
          const fs::path header = directory / "states.json";
          METAEIK_CHECK(fs::is_regular_file(header),
                        header.string()
                            << ": not found (expected the output directory of `metaeikonal tissue`)");
          const core::Json h = core::load_json_file(header);
          METAEIK_CHECK(h.is_object() && h.contains("variables") && h.at("variables").is_array(),
                        header.string() << ": key 'variables' is missing");
          for (const auto& v : h.at("variables"))
            names.push_back(v.is_string() ? v.get<std::string>() : v.dump());
        } else {
          names = variables.cast<std::vector<std::string>>();
        }
        surrogates::lstm::StatesData data;
        {
          py::gil_scoped_release release;
          data = surrogates::lstm::load_states(directory, names);
        }
        const auto shape = std::vector<py::ssize_t>{
            py::ssize_t(data.frames), py::ssize_t(data.variables.size()), py::ssize_t(data.nodes)};
        py::dict info;
        info["variables"] = data.variables;
        info["interval_ms"] = data.interval_ms;
        info["grid_nodes"] = py::make_tuple(data.grid.nx, data.grid.ny, data.grid.nz);
        info["spacing_mm"] = py::make_tuple(data.grid.dx, data.grid.dy, data.grid.dz);
        return py::make_tuple(owning_array(std::move(data.values), shape), info);
      },
      py::arg("directory"), py::arg("variables") = py::none(),
      "Reads DIRECTORY/states.bin with its states.json (monodomain/FORMAT.md) through the checked C++ reader "
      "(surrogates/lstm/states_dataset.hpp): returns (states, info) with states a float32 array "
      "[frame, variable, node] holding `variables` (default: all, in file order) and info a dict (variables, "
      "interval_ms, grid_nodes, spacing_mm). Errors name the file (missing key, dtype, size, non-finite "
      "value).");
#endif
}

}  // namespace metaeik::python
