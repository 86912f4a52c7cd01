#include "geometry/vtk_io.hpp"

#include <spdlog/spdlog.h>
#include <vtkCallbackCommand.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkCellType.h>
#include <vtkCommand.h>
#include <vtkDataArray.h>
#include <vtkDoubleArray.h>
#include <vtkFloatArray.h>
#include <vtkGenericDataObjectReader.h>
#include <vtkIdList.h>
#include <vtkIdTypeArray.h>
#include <vtkInformation.h>
#include <vtkIntArray.h>
#include <vtkLogger.h>
#include <vtkLongLongArray.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkShortArray.h>
#include <vtkSignedCharArray.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedIntArray.h>
#include <vtkUnsignedShortArray.h>
#include <vtkUnstructuredGrid.h>
#include <vtkUnstructuredGridWriter.h>
#include <vtkXMLDataElement.h>
#include <vtkXMLDataParser.h>
#include <vtkXMLUnstructuredGridReader.h>
#include <vtkXMLUnstructuredGridWriter.h>

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "geometry/child_process.hpp"
#include "geometry/vtk_io_checks.hpp"

namespace metaeik::geometry {

namespace fs = std::filesystem;

namespace {

/// Collects VTK error events of one reader/writer so they become core::Error, not stderr noise.
struct VtkErrors {
  std::string first;
  vtkNew<vtkCallbackCommand> callback;
  VtkErrors() {
    // Errors of VTK-internal objects (XML parser, executive) would otherwise go to stderr;
    // ours are reported through the observer below as one-line core::Error messages.
    static const bool quiet = [] {
      vtkLogger::SetStderrVerbosity(vtkLogger::VERBOSITY_OFF);
      return true;
    }();
    (void)quiet;
    callback->SetClientData(this);
    callback->SetCallback([](vtkObject*, unsigned long, void* client, void* call_data) {
      auto* self = static_cast<VtkErrors*>(client);
      if (self->first.empty() && call_data) {
        std::string msg = static_cast<const char*>(call_data);
        // VTK messages span lines ("ERROR: In file, line N\nClass (0x..): text"); keep the text.
        const auto pos = msg.find("): ");
        if (pos != std::string::npos) msg = msg.substr(pos + 3);
        msg.erase(std::remove(msg.begin(), msg.end(), '\n'), msg.end());
        self->first = msg.empty() ? "unknown VTK error" : msg;
      }
    });
  }
  void watch(vtkObject* obj) {
    obj->AddObserver(vtkCommand::ErrorEvent, callback);
    obj->AddObserver(vtkCommand::WarningEvent, callback);
  }
};

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

ScalarType scalar_type_of(int vtk_type) {
  switch (vtk_type) {
    case VTK_FLOAT:
      return ScalarType::kFloat32;
    case VTK_INT:
      return ScalarType::kInt32;
    case VTK_LONG:
    case VTK_LONG_LONG:
    case VTK_ID_TYPE:
      return ScalarType::kInt64;
    case VTK_UNSIGNED_CHAR:
      return ScalarType::kUInt8;
    case VTK_CHAR:
    case VTK_SIGNED_CHAR:
      return ScalarType::kInt8;
    case VTK_SHORT:
      return ScalarType::kInt16;
    case VTK_UNSIGNED_SHORT:
      return ScalarType::kUInt16;
    case VTK_UNSIGNED_INT:
      return ScalarType::kUInt32;
    default:
      return ScalarType::kFloat64;
  }
}

vtkSmartPointer<vtkDataArray> make_vtk_array(ScalarType type) {
  switch (type) {
    case ScalarType::kFloat32:
      return vtkSmartPointer<vtkFloatArray>::New();
    case ScalarType::kInt32:
      return vtkSmartPointer<vtkIntArray>::New();
    case ScalarType::kInt64:
      return vtkSmartPointer<vtkLongLongArray>::New();
    case ScalarType::kUInt8:
      return vtkSmartPointer<vtkUnsignedCharArray>::New();
    case ScalarType::kInt8:
      return vtkSmartPointer<vtkSignedCharArray>::New();
    case ScalarType::kInt16:
      return vtkSmartPointer<vtkShortArray>::New();
    case ScalarType::kUInt16:
      return vtkSmartPointer<vtkUnsignedShortArray>::New();
    case ScalarType::kUInt32:
      return vtkSmartPointer<vtkUnsignedIntArray>::New();
    case ScalarType::kFloat64:
      break;
  }
  return vtkSmartPointer<vtkDoubleArray>::New();
}

/// Copies the numeric arrays of `data` (only the rows listed in `keep`, or all when empty).
void read_arrays(vtkFieldData* data, const std::vector<vtkIdType>& keep, vtkIdType rows,
                 std::map<std::string, DataArray>& out, const std::string& source) {
  for (int a = 0; a < data->GetNumberOfArrays(); ++a) {
    vtkDataArray* arr = vtkDataArray::SafeDownCast(data->GetAbstractArray(a));
    if (!arr) {
      spdlog::warn("{}: skipping non-numeric array '{}'", source, data->GetAbstractArray(a)->GetName());
      continue;
    }
    std::string name = arr->GetName() ? arr->GetName() : "";
    if (name.empty()) name = "array" + std::to_string(a);
    METAEIK_CHECK(arr->GetNumberOfTuples() == rows, source << ": array '" << name << "' has "
                                                           << arr->GetNumberOfTuples() << " tuples, expected "
                                                           << rows);
    const int nc = arr->GetNumberOfComponents();
    const vtkIdType n = keep.empty() ? rows : vtkIdType(keep.size());
    DataArray da;
    da.type = scalar_type_of(arr->GetDataType());
    da.values.resize(n, nc);
    for (vtkIdType i = 0; i < n; ++i) {
      const vtkIdType src = keep.empty() ? i : keep[i];
      for (int c = 0; c < nc; ++c) da.values(i, c) = arr->GetComponent(src, c);
    }
    out[name] = std::move(da);
  }
}

void add_arrays(const std::map<std::string, DataArray>& arrays, vtkFieldData* data) {
  for (const auto& [name, a] : arrays) {
    auto arr = make_vtk_array(a.type);
    arr->SetName(name.c_str());
    arr->SetNumberOfComponents(int(a.components()));
    arr->SetNumberOfTuples(a.rows());
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      for (Eigen::Index c = 0; c < a.components(); ++c) arr->SetComponent(i, int(c), a.values(i, c));
    data->AddArray(arr);
  }
}

TetMesh from_vtk(vtkUnstructuredGrid* grid, const std::string& source) {
  TetMesh mesh;
  const vtkIdType np = grid->GetNumberOfPoints();
  METAEIK_CHECK(np > 0, source << ": mesh has no points");
  mesh.points.resize(np, 3);
  for (vtkIdType i = 0; i < np; ++i) {
    double p[3];
    grid->GetPoint(i, p);
    mesh.points.row(i) << p[0], p[1], p[2];
  }
  // Cells straight from the cell array: vtkUnstructuredGrid::GetCellPoints would follow a corrupted
  // type (e.g. VTK_POLYHEDRON without faces) into memory it does not have.
  vtkCellArray* cells = grid->GetCells();
  vtkUnsignedCharArray* types = grid->GetCellTypesArray();
  const vtkIdType nc = cells ? cells->GetNumberOfCells() : 0;
  METAEIK_CHECK(nc == 0 || (types && types->GetNumberOfTuples() == nc),
                source << ": mesh has " << nc << " cells but " << (types ? types->GetNumberOfTuples() : 0)
                       << " cell types");
  std::vector<vtkIdType> keep;
  vtkIdType others = 0;
  for (vtkIdType c = 0; c < nc; ++c) {
    if (types->GetValue(c) == VTK_TETRA)
      keep.push_back(c);
    else
      ++others;
  }
  METAEIK_CHECK(!keep.empty(), source << ": mesh has no tetrahedra (" << others << " other cells)");
  if (others > 0) spdlog::warn("{}: ignoring {} non-tetrahedral cells", source, others);
  mesh.tets.resize(Eigen::Index(keep.size()), 4);
  for (std::size_t t = 0; t < keep.size(); ++t) {
    vtkIdType size = 0;
    const vtkIdType* ids = nullptr;
    cells->GetCellAtId(keep[t], size, ids);
    METAEIK_CHECK(size == 4,
                  source << ": tet " << t << " (cell " << keep[t] << ") has " << size << " points, not 4");
    for (int k = 0; k < 4; ++k) {
      const vtkIdType v = ids[k];
      METAEIK_CHECK(v >= 0 && v < np, source << ": tet " << t << " references point " << v
                                             << ", out of range [0, " << np << ")");
      mesh.tets(Eigen::Index(t), k) = int(v);
    }
  }
  read_arrays(grid->GetPointData(), {}, np, mesh.point_data, source);
  read_arrays(grid->GetCellData(), others > 0 ? keep : std::vector<vtkIdType>{}, nc, mesh.cell_data, source);
  validate(mesh, source);
  return mesh;
}

}  // namespace

namespace {

TetMesh read_vtu(const fs::path& path, const std::string& source, VtkErrors& errors) {
  vtkNew<vtkXMLUnstructuredGridReader> reader;
  errors.watch(reader);
  reader->SetFileName(source.c_str());
  // Parse the XML structure first and bound every declared size by the file's bytes, so that a
  // corrupted count never reaches VTK's allocations (detail::check_vtu_sizes).
  reader->UpdateInformation();
  METAEIK_CHECK(errors.first.empty(), source << ": cannot read VTU file (" << errors.first << ")");
  vtkXMLDataParser* parser = reader->GetXMLParser();
  vtkXMLDataElement* root = parser ? parser->GetRootElement() : nullptr;
  METAEIK_CHECK(root, source << ": cannot read VTU file (no XML structure)");
  bool appended = false;
  for (int i = 0; i < root->GetNumberOfNestedElements(); ++i)
    appended = appended || std::string(root->GetNestedElement(i)->GetName()) == "AppendedData";
  detail::check_vtu_sizes(root, appended ? parser->GetAppendedDataPosition() : -1, source,
                          fs::file_size(path));
  reader->Update();
  METAEIK_CHECK(errors.first.empty(), source << ": cannot read VTU file (" << errors.first << ")");
  vtkUnstructuredGrid* grid = reader->GetOutput();
  METAEIK_CHECK(grid && grid->GetNumberOfPoints() > 0, source << ": cannot read VTU file (no points)");
  return from_vtk(grid, source);
}

TetMesh read_legacy_vtk(const std::string& source, VtkErrors& errors) {
  detail::check_legacy_vtk_sizes(source);
  vtkNew<vtkGenericDataObjectReader> reader;
  errors.watch(reader);
  reader->SetFileName(source.c_str());
  reader->Update();
  METAEIK_CHECK(errors.first.empty(), source << ": cannot read legacy VTK file (" << errors.first << ")");
  auto* grid = vtkUnstructuredGrid::SafeDownCast(reader->GetOutput());
  if (!grid) {
    const char* kind = reader->GetOutput() ? reader->GetOutput()->GetClassName() : "nothing";
    METAEIK_FAIL(source << ": mesh has no tetrahedra (file holds " << kind << ", not an unstructured grid)");
  }
  return from_vtk(grid, source);
}

}  // namespace

TetMesh read_vtk_mesh(const fs::path& path) {
  const std::string source = path.string();
  METAEIK_CHECK(fs::exists(path), source << ": file does not exist");
  METAEIK_CHECK(fs::is_regular_file(path), source << ": not a regular file");
  const std::string ext = lower_extension(path);
  METAEIK_CHECK(ext == ".vtu" || ext == ".vtk",
                source << ": unsupported mesh format '" << ext << "' (expected .vtu or .vtk)");
  VtkErrors errors;
  try {
    if (ext == ".vtu") return read_vtu(path, source, errors);
    // VTK's legacy reader can crash on a damaged file that passes our pre-scan (a truncated FIELD
    // header, heap corruption on some ASCII files): it reads the file first in a child process, where
    // a crash is an error, and only then here (twice the reading time, for legacy files only).
    detail::run_in_child(
        [&] {
          spdlog::set_level(spdlog::level::off);  // the child's process only: the parent warns once
          VtkErrors child_errors;
          read_legacy_vtk(source, child_errors);
          return std::string();
        },
        source + ": cannot read legacy VTK file", "VTK's reader crashed on it");
    return read_legacy_vtk(source, errors);
  } catch (const core::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    METAEIK_FAIL(source << ": cannot read mesh file (out of memory for the sizes it declares)");
  } catch (const std::exception& e) {
    METAEIK_FAIL(source << ": cannot read mesh file (" << e.what() << ")");
  }
}

void write_vtk_mesh(const TetMesh& mesh, const fs::path& path) {
  const std::string source = path.string();
  const std::string ext = lower_extension(path);
  METAEIK_CHECK(ext == ".vtu" || ext == ".vtk",
                source << ": unsupported mesh format '" << ext << "' (expected .vtu or .vtk)");
  vtkNew<vtkUnstructuredGrid> grid;
  vtkNew<vtkPoints> points;
  points->SetDataTypeToDouble();
  points->SetNumberOfPoints(mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i)
    points->SetPoint(i, mesh.points(i, 0), mesh.points(i, 1), mesh.points(i, 2));
  grid->SetPoints(points);
  vtkNew<vtkCellArray> cells;
  cells->AllocateExact(mesh.num_tets(), 4 * mesh.num_tets());
  for (int t = 0; t < mesh.num_tets(); ++t) {
    const vtkIdType ids[4] = {mesh.tets(t, 0), mesh.tets(t, 1), mesh.tets(t, 2), mesh.tets(t, 3)};
    cells->InsertNextCell(4, ids);
  }
  grid->SetCells(VTK_TETRA, cells);
  add_arrays(mesh.point_data, grid->GetPointData());
  add_arrays(mesh.cell_data, grid->GetCellData());

  core::write_atomically(path, [&](const fs::path& tmp) {
    VtkErrors errors;
    int ok = 0;
    if (ext == ".vtu") {
      vtkNew<vtkXMLUnstructuredGridWriter> writer;
      errors.watch(writer);
      writer->SetFileName(tmp.string().c_str());
      writer->SetInputData(grid);
      writer->SetDataModeToAppended();
      writer->EncodeAppendedDataOff();
      writer->SetCompressorTypeToZLib();
      ok = writer->Write();
    } else {
      vtkNew<vtkUnstructuredGridWriter> writer;
      errors.watch(writer);
      writer->SetFileName(tmp.string().c_str());
      writer->SetInputData(grid);
      writer->SetFileTypeToBinary();
      ok = writer->Write();
    }
    METAEIK_CHECK(ok == 1 && errors.first.empty(), source << ": cannot write (" << errors.first << ")");
  });
}

}  // namespace metaeik::geometry
