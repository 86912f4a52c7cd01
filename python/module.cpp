// The `metaeikonal` Python module: errors, logging and the JSON helpers; the bindings themselves
// are in python/bind_*.cpp (docs/DESIGN.md, Python).

#include <pybind11/pybind11.h>

#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "python/bindings.hpp"

namespace metaeik::python {

core::Json json_argument(const py::handle& config, const std::string& fallback, std::string* source) {
  const py::module_ os = py::module_::import("os");
  if (py::isinstance<py::str>(config) || py::hasattr(config, "__fspath__")) {
    const std::string path = py::str(os.attr("fspath")(config));
    if (source) *source = path;
    return core::load_json_file(path);
  }
  if (source) *source = fallback;
  // NumPy scalars and arrays inside a dict are written as their Python values.
  const py::cpp_function plain([](py::handle value) -> py::object {
    if (py::hasattr(value, "tolist")) return value.attr("tolist")();
    throw py::type_error(std::string(py::str(py::type::of(value))) + " is not JSON serialisable");
  });
  const std::string text =
      py::str(py::module_::import("json").attr("dumps")(config, py::arg("default") = plain));
  return core::Json::parse(text);
}

py::object to_python(const core::Json& json) {
  return py::module_::import("json").attr("loads")(json.dump());
}

}  // namespace metaeik::python

PYBIND11_MODULE(metaeikonal, m) {
  using namespace metaeik;
  namespace py = pybind11;
  m.doc() =
      "MetaEikonal from Python: tetrahedral meshes, the FIM Eikonal solver, activation-map datasets, "
      "the meta-PINN and monodomain tissue runs, with NumPy arrays in and out (docs/DESIGN.md, Python).\n\n"
      "Units: mm, ms, mm/ms. Errors raise metaeikonal.Error (a RuntimeError) with the one-line message "
      "the command line prints after 'error: '.";
  m.attr("__version__") = "0.1.0";
  const auto& error = py::register_exception<core::Error>(m, "Error", PyExc_RuntimeError);
  error.attr("__doc__") =
      "A MetaEikonal error (core::Error): str(e) is the one-line message the CLI prints after 'error: '.";

  // As the CLI without -q/-v: info messages on stderr.
  core::setup_logging(core::Verbosity::kNormal);
  m.def(
      "set_verbosity",
      [](const std::string& level) {
        METAEIK_CHECK(level == "quiet" || level == "normal" || level == "verbose",
                      "verbosity: expected quiet, normal or verbose, got '" << level << "'");
        core::setup_logging(level == "quiet"    ? core::Verbosity::kQuiet
                            : level == "normal" ? core::Verbosity::kNormal
                                                : core::Verbosity::kVerbose);
      },
      py::arg("level"),
      "Logging on stderr like the CLI: 'quiet' (warnings and errors, no progress bars, = -q), 'normal' "
      "(info, the default) or 'verbose' (debug, = -v).");

  python::bind_mesh(m);
  python::bind_eikonal(m);
  python::bind_monodomain(m);
#ifdef METAEIK_WITH_TORCH
  python::bind_metapinn(m);
#endif
}
