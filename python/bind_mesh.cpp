// Python bindings: TetMesh with its arrays as NumPy views, mesh files, the ventricle generator.

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <array>
#include <filesystem>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "geometry/generate.hpp"
#include "geometry/mesh_io.hpp"
#include "geometry/opencarp_io.hpp"
#include "geometry/tet_mesh.hpp"
#include "python/bindings.hpp"

namespace metaeik::python {

namespace {

using geometry::ScalarType;
using geometry::TetMesh;

const std::array<std::pair<const char*, ScalarType>, 9> kScalarTypes = {{{"float64", ScalarType::kFloat64},
                                                                         {"float32", ScalarType::kFloat32},
                                                                         {"int32", ScalarType::kInt32},
                                                                         {"int64", ScalarType::kInt64},
                                                                         {"uint8", ScalarType::kUInt8},
                                                                         {"int8", ScalarType::kInt8},
                                                                         {"int16", ScalarType::kInt16},
                                                                         {"uint16", ScalarType::kUInt16},
                                                                         {"uint32", ScalarType::kUInt32}}};

ScalarType scalar_type(const std::string& name) {
  for (const auto& [n, t] : kScalarTypes)
    if (name == n) return t;
  METAEIK_FAIL(
      "array type '" << name
                     << "': expected float64, float32, int32, int64, uint8, int8, int16, uint16 or uint32");
}

std::string scalar_type_name(ScalarType type) {
  for (const auto& [n, t] : kScalarTypes)
    if (type == t) return n;
  return "float64";
}

/// A NumPy view (no copy) of an array's values that keeps `owner` alive: #rows for one
/// component, #rows × components otherwise (row-major, as stored).
py::array array_view(geometry::ArrayValues& values, py::handle owner) {
  const auto row_bytes = py::ssize_t(values.cols() * sizeof(double));
  if (values.cols() == 1)
    return py::array_t<double>({values.rows()}, {py::ssize_t(sizeof(double))}, values.data(), owner);
  return py::array_t<double>({values.rows(), values.cols()}, {row_bytes, py::ssize_t(sizeof(double))},
                             values.data(), owner);
}

py::dict array_views(std::map<std::string, geometry::DataArray>& arrays, py::handle owner) {
  py::dict d;
  for (auto& [name, array] : arrays) d[py::str(name)] = array_view(array.values, owner);
  return d;
}

py::dict array_types(const std::map<std::string, geometry::DataArray>& arrays) {
  py::dict d;
  for (const auto& [name, array] : arrays) d[py::str(name)] = scalar_type_name(array.type);
  return d;
}

}  // namespace

void bind_mesh(py::module_& m) {
  py::class_<TetMesh>(
      m, "TetMesh",
      "A linear tetrahedral mesh: points (#P×3 float64, mm), tets (#T×4 int32, positively "
      "oriented) and named point/cell arrays. `points`, `tets` and the arrays in `point_data` / "
      "`cell_data` are NumPy views of the C++ storage (no copy; writes go through). Assigning "
      "`points` or `tets`, or setting an array, copies the new values in and invalidates "
      "earlier views of what it replaces.")
      .def(py::init<>(), "An empty mesh.")
      .def(py::init([](const geometry::Points& points, const geometry::Tets& tets, bool validate) {
             TetMesh mesh;
             mesh.points = points;
             mesh.tets = tets;
             if (validate) geometry::validate(mesh, "TetMesh");
             return mesh;
           }),
           py::arg("points"), py::arg("tets"), py::arg("validate") = true,
           "A mesh from #P×3 points (mm) and #T×4 tets (point indices; copied into the mesh). With validate "
           "(geometry::validate) indices, coordinates and volumes are checked and inverted tets re-oriented.")
      .def_property(
          "points", [](TetMesh& mesh) -> geometry::Points& { return mesh.points; },
          [](TetMesh& mesh, const geometry::Points& p) { mesh.points = p; },
          py::return_value_policy::reference_internal,
          "#P×3 float64 coordinates (mm): a writable view of the mesh's storage.")
      .def_property(
          "tets", [](TetMesh& mesh) -> geometry::Tets& { return mesh.tets; },
          [](TetMesh& mesh, const geometry::Tets& t) { mesh.tets = t; },
          py::return_value_policy::reference_internal,
          "#T×4 int32 point indices: a writable view of the mesh's storage.")
      .def_property_readonly("num_points", &TetMesh::num_points, "#P")
      .def_property_readonly("num_tets", &TetMesh::num_tets, "#T")
      .def_property_readonly(
          "point_data", [](py::object self) { return array_views(self.cast<TetMesh&>().point_data, self); },
          "Point arrays as a new dict {name: view} (#P for one component, #P×c otherwise; float64 views "
          "of the stored values). Add or replace arrays with set_point_array.")
      .def_property_readonly(
          "cell_data", [](py::object self) { return array_views(self.cast<TetMesh&>().cell_data, self); },
          "Cell arrays as a new dict {name: view} (#T or #T×c). Add or replace with set_cell_array.")
      .def_property_readonly(
          "point_data_types", [](const TetMesh& mesh) { return array_types(mesh.point_data); },
          "{name: scalar type on disk} of the point arrays, e.g. 'int32' for labels.")
      .def_property_readonly(
          "cell_data_types", [](const TetMesh& mesh) { return array_types(mesh.cell_data); },
          "{name: scalar type on disk} of the cell arrays.")
      .def(
          "set_point_array",
          [](TetMesh& mesh, const std::string& name, const geometry::ArrayValues& values,
             const std::string& type) { mesh.set_point_array(name, values, scalar_type(type)); },
          py::arg("name"), py::arg("values"), py::arg("type") = "float64",
          "Adds or replaces a point array (#P or #P×c values, copied). `type` is the scalar type written "
          "to files: float64, float32, int32, int64, uint8, int8, int16, uint16, uint32.")
      .def(
          "set_cell_array",
          [](TetMesh& mesh, const std::string& name, const geometry::ArrayValues& values,
             const std::string& type) { mesh.set_cell_array(name, values, scalar_type(type)); },
          py::arg("name"), py::arg("values"), py::arg("type") = "float64",
          "Adds or replaces a cell array (#T or #T×c values, copied); `type` as for set_point_array.")
      .def(
          "remove_point_array",
          [](TetMesh& mesh, const std::string& name) { return mesh.point_data.erase(name) > 0; },
          py::arg("name"), "Removes a point array; returns whether it existed.")
      .def(
          "remove_cell_array",
          [](TetMesh& mesh, const std::string& name) { return mesh.cell_data.erase(name) > 0; },
          py::arg("name"), "Removes a cell array; returns whether it existed.")
      .def(
          "volumes", [](const TetMesh& mesh) { return geometry::tet_volumes(mesh.points, mesh.tets); },
          "Signed volume of each tet (#T, mm³).")
      .def(
          "quality", [](const TetMesh& mesh) { return geometry::tet_quality(mesh.points, mesh.tets); },
          "Mean-ratio quality of each tet in [0, 1] (#T; 1 = regular).")
      .def(
          "validate", [](TetMesh& mesh, const std::string& source) { geometry::validate(mesh, source); },
          py::arg("source") = "TetMesh",
          "geometry::validate: checks indices, coordinates, volumes and array lengths (errors name `source`) "
          "and re-orients inverted tets.")
      .def("__repr__", [](const TetMesh& mesh) {
        return "<metaeikonal.TetMesh " + std::to_string(mesh.num_points()) + " points, " +
               std::to_string(mesh.num_tets()) + " tets, " + std::to_string(mesh.point_data.size()) +
               " point arrays, " + std::to_string(mesh.cell_data.size()) + " cell arrays>";
      });

  m.def(
      "read_mesh", &geometry::read_mesh, py::arg("path"), py::call_guard<py::gil_scoped_release>(),
      "Reads and validates a tetrahedral mesh by extension (geometry/mesh_io.hpp): .vtu and legacy .vtk "
      "through VTK with every point and cell array, Gmsh .msh 2.2/4.1 (ASCII or binary; cell array "
      "'physical') and openCARP heart.pts / .elem / .lon (µm → mm; cell arrays 'region', 'fiber', 'sheet'). "
      "Errors name the file (and the line for text formats).");
  m.def("write_mesh", &geometry::write_mesh, py::arg("mesh"), py::arg("path"),
        py::call_guard<py::gil_scoped_release>(),
        "Writes a mesh by extension, atomically: .vtu (zlib) and legacy .vtk with every array, .msh (4.1 "
        "ASCII) or openCARP .pts/.elem(/.lon) (mm → µm).");
  m.def(
      "read_vtx",
      [](const std::filesystem::path& path, int num_points) {
        auto list = geometry::read_vtx(path, num_points);
        return py::make_tuple(py::cast(std::move(list.nodes)), list.domain);
      },
      py::arg("path"), py::arg("num_points"),
      "Reads an openCARP .vtx node list, e.g. stimulus nodes to use as sources: returns (nodes, domain) with "
      "the node indices (checked against num_points) and 'intra' or 'extra'.");
  m.def(
      "generate_ventricle",
      [](py::kwargs options) {
        const core::Json json = json_argument(options, "generate_ventricle");
        core::JsonReader reader(json, "generate_ventricle");
        geometry::GeneratorOptions o;
        geometry::read_generator_options(reader, o);
        reader.finish();
        py::gil_scoped_release release;
        return geometry::generate_ventricle(o);
      },
      "generate_ventricle(**options) -> TetMesh\n\n"
      "CGAL ventricle generator (geometry/generate.hpp). Keyword options are the GeneratorOptions fields "
      "with the config key names: shape ('lv' or 'biv'), target_nodes (>= 100, default 2000), seed, "
      "lv_endo_short_radius, ..., rv_wall_thickness, facet_angle, cell_radius_edge_ratio, node_tolerance, "
      "max_attempts. Deterministic for a seed. The mesh has point arrays 'surface' and 'aha'.");
}

}  // namespace metaeik::python
