// All VTK use of the monodomain module is fenced in this file.
#include "monodomain/vti_io.hpp"

#include <vtkDataArray.h>
#include <vtkDoubleArray.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkXMLImageDataReader.h>
#include <vtkXMLImageDataWriter.h>

#include <iomanip>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace metaeik::monodomain {

void write_vti(const std::filesystem::path& path, const Grid& grid, const std::vector<GridArray>& arrays) {
  vtkNew<vtkImageData> image;
  image->SetDimensions(grid.nx, grid.ny, grid.nz);
  image->SetOrigin(0, 0, 0);
  image->SetSpacing(grid.dx, grid.dy, grid.dz);
  const auto n = static_cast<vtkIdType>(grid.size());
  for (const auto& a : arrays) {
    METAEIK_CHECK(static_cast<vtkIdType>(a.values.size()) == n, path.string() << ": array " << a.name
                                                                              << " has " << a.values.size()
                                                                              << " values, grid has " << n);
    if (a.float32) {
      vtkNew<vtkFloatArray> arr;
      arr->SetName(a.name.c_str());
      arr->SetNumberOfTuples(n);
      for (vtkIdType i = 0; i < n; ++i) arr->SetValue(i, static_cast<float>(a.values[i]));
      image->GetPointData()->AddArray(arr);
    } else {
      vtkNew<vtkDoubleArray> arr;
      arr->SetName(a.name.c_str());
      arr->SetNumberOfTuples(n);
      for (vtkIdType i = 0; i < n; ++i) arr->SetValue(i, a.values[i]);
      image->GetPointData()->AddArray(arr);
    }
  }
  if (!arrays.empty()) image->GetPointData()->SetActiveScalars(arrays.front().name.c_str());
  core::write_atomically(path, [&](const std::filesystem::path& tmp) {
    vtkNew<vtkXMLImageDataWriter> writer;
    writer->SetFileName(tmp.string().c_str());
    writer->SetInputData(image);
    writer->SetDataModeToAppended();
    writer->SetCompressorTypeToZLib();
    METAEIK_CHECK(writer->Write() == 1, path.string() << ": VTK could not write the image data");
  });
}

void write_pvd(const std::filesystem::path& path,
               const std::vector<std::pair<double, std::string>>& entries) {
  core::write_file_atomically(path, [&](std::ostream& os) {
    os << "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" "
          "byte_order=\"LittleEndian\">\n"
       << "  <Collection>\n"
       << std::setprecision(10);
    for (const auto& [t, file] : entries)
      os << "    <DataSet timestep=\"" << t << "\" group=\"\" part=\"0\" file=\"" << file << "\"/>\n";
    os << "  </Collection>\n</VTKFile>\n";
  });
}

std::vector<double> read_vti_array(const std::filesystem::path& path, const std::string& name, Grid* grid) {
  METAEIK_CHECK(std::filesystem::exists(path), path.string() << ": file not found");
  vtkNew<vtkXMLImageDataReader> reader;
  reader->SetFileName(path.string().c_str());
  reader->Update();
  vtkImageData* image = reader->GetOutput();
  METAEIK_CHECK(image != nullptr, path.string() << ": not a readable .vti file");
  vtkDataArray* arr = image->GetPointData()->GetArray(name.c_str());
  METAEIK_CHECK(arr != nullptr, path.string() << ": no point array \"" << name << "\"");
  if (grid) {
    int dims[3];
    double spacing[3];
    image->GetDimensions(dims);
    image->GetSpacing(spacing);
    *grid = Grid{dims[0], dims[1], dims[2], spacing[0], spacing[1], spacing[2]};
  }
  std::vector<double> out(static_cast<std::size_t>(arr->GetNumberOfTuples()));
  for (vtkIdType i = 0; i < arr->GetNumberOfTuples(); ++i) out[i] = arr->GetComponent(i, 0);
  return out;
}

}  // namespace metaeik::monodomain
