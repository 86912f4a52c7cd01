#pragma once
// The metaeikonal Python module (pybind11): one bind_* function per concern, called from
// python/module.cpp, plus the helpers they share. A thin layer over the C++ API: options and
// configs cross as the same JSON objects the CLI reads (so the same keys and one-line errors),
// arrays as NumPy arrays.

#include <pybind11/pybind11.h>

#include <string>

#include "core/config.hpp"

namespace metaeik::python {

namespace py = pybind11;

void bind_mesh(py::module_& m);        ///< python/bind_mesh.cpp: TetMesh, mesh I/O, the generator
void bind_eikonal(py::module_& m);     ///< python/bind_eikonal.cpp: FIM, Dijkstra, datasets
void bind_monodomain(py::module_& m);  ///< python/bind_monodomain.cpp: tissue runs, states.bin
void bind_metapinn(py::module_& m);    ///< python/bind_metapinn.cpp (LibTorch): train, personalise

/// A JSON config given as a dict (or any JSON-serialisable object) or as the path of a JSON file
/// (str or os.PathLike; read with core::load_json_file). `source` becomes the name errors use: the
/// file name, or `fallback` for a dict.
core::Json json_argument(const py::handle& config, const std::string& fallback,
                         std::string* source = nullptr);

/// A JSON value as Python objects (dict, list, str, float, int, bool, None).
py::object to_python(const core::Json& json);

}  // namespace metaeik::python
