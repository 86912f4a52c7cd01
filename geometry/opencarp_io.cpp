#include "geometry/opencarp_io.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "geometry/fibres.hpp"
#include "geometry/text_lines.hpp"

namespace metaeik::geometry {

namespace fs = std::filesystem;
using detail::TextLines;

namespace {

constexpr double kUmPerMm = 1000.0;  // openCARP .pts coordinates are µm; TetMesh points are mm

/// openCARP element types other than Tt (which are refused by name).
const std::set<std::string_view> kOtherElementTypes = {"Ln", "Tr", "Qd", "Py", "Pr", "Hx", "Oc", "Cx"};

/// `mm` in µm, as the shortest of 15–17 significant digits that reads back (÷ 1000) as exactly
/// `mm`, so -17.0543 mm is written -17054.3 rather than -17054.300000000003.
void append_um(fmt::memory_buffer& out, double mm) {
  const double um = mm * kUmPerMm;
  char buf[32];
  for (int digits = 15; digits <= 17; ++digits) {
    const auto end = fmt::format_to_n(buf, sizeof(buf) - 1, "{:.{}g}", um, digits).out;
    double back = 0;
    std::from_chars(buf, end, back);
    if (back / kUmPerMm == mm || digits == 17) {
      out.append(buf, end);
      return;
    }
  }
}

fs::path with_extension(const fs::path& base, const char* ext) {
  fs::path p = base;
  p += ext;
  return p;
}

Points read_pts(const fs::path& path) {
  TextLines f(path);
  const std::size_t n = f.count("points");
  if (n == 0) f.fail("the file declares no points");
  std::vector<double> xyz;
  xyz.reserve(3 * f.capacity(n, 6));  // "0 0 0\n"
  std::string_view line, tok[3];
  for (std::size_t i = 0; i < n; ++i) {
    if (!f.next(line))
      f.fail("file ends after " + std::to_string(i) + " of " + std::to_string(n) + " points");
    if (detail::split(line, tok, 3) != 3)
      f.fail("expected 3 coordinates (x y z in um), got " + detail::quoted(line));
    for (int c = 0; c < 3; ++c) {
      double v = 0;
      if (!detail::parse_double(tok[c], v))
        f.fail("coordinate " + detail::quoted(tok[c]) + " is not a number");
      if (!std::isfinite(v)) f.fail("coordinate " + detail::quoted(tok[c]) + " is not finite");
      xyz.push_back(v / kUmPerMm);
    }
  }
  if (f.next(line))
    f.fail("unexpected content after the " + std::to_string(n) + " points declared on line 1");
  return Eigen::Map<const Points>(xyz.data(), Eigen::Index(n), 3);
}

void read_elem(const fs::path& path, int num_points, TetMesh& mesh) {
  TextLines f(path);
  const std::size_t n = f.count("elements");
  if (n == 0) f.fail("the file declares no elements");
  std::vector<int> nodes, region;
  nodes.reserve(4 * f.capacity(n, 11));  // "Tt 0 0 0 0\n"
  region.reserve(f.capacity(n, 11));
  std::string_view line, tok[6];
  for (std::size_t e = 0; e < n; ++e) {
    if (!f.next(line))
      f.fail("file ends after " + std::to_string(e) + " of " + std::to_string(n) + " elements");
    const int k = detail::split(line, tok, 6);
    if (tok[0] != "Tt") {
      if (kOtherElementTypes.count(tok[0]))
        f.fail("element type " + detail::quoted(tok[0]) + " is not supported (only Tt tetrahedra)");
      f.fail("unknown element type " + detail::quoted(tok[0]) + " (expected Tt)");
    }
    if (k != 5 && k != 6)
      f.fail("a Tt element needs 4 node indices and an optional region tag, got " + detail::quoted(line));
    for (int c = 0; c < 4; ++c) {
      long long v = -1;
      if (!detail::parse_int(tok[1 + c], v))
        f.fail("node index " + detail::quoted(tok[1 + c]) + " is not an integer");
      if (v < 0 || v >= num_points)
        f.fail("node index " + std::to_string(v) + " is out of range [0, " + std::to_string(num_points) +
               ") of the .pts file");
      nodes.push_back(int(v));
    }
    region.push_back(0);
    if (k == 6) {
      long long r = 0;
      if (!detail::parse_int(tok[5], r) || r < std::numeric_limits<int>::min() ||
          r > std::numeric_limits<int>::max())
        f.fail("region tag " + detail::quoted(tok[5]) + " is not a 32-bit integer");
      region.back() = int(r);
    }
  }
  if (f.next(line))
    f.fail("unexpected content after the " + std::to_string(n) + " elements declared on line 1");
  mesh.tets = Eigen::Map<const Tets>(nodes.data(), Eigen::Index(n), 4);
  mesh.set_cell_array("region",
                      Eigen::Map<const Eigen::VectorXi>(region.data(), Eigen::Index(n)).cast<double>(),
                      ScalarType::kInt32);
}

void read_lon(const fs::path& path, const std::string& elem_name, TetMesh& mesh) {
  TextLines f(path);
  const std::size_t n = std::size_t(mesh.num_tets());
  std::string_view line, tok[7];
  if (!f.next(line)) f.fail("file is empty (expected the number of fibre vectors per element, 1 or 2)");
  int vectors = 1;
  bool header = true;
  const int k0 = detail::split(line, tok, 7);
  long long v = 0;
  if (k0 == 1 && detail::parse_int(tok[0], v) && (v == 1 || v == 2))
    vectors = int(v);
  else if (k0 == 3)
    header = false;  // an older .lon without the count line: one fibre vector per element
  else
    f.fail("expected the number of fibre vectors per element (1 or 2), got " + detail::quoted(line));
  const int width = 3 * vectors;
  ArrayValues values(Eigen::Index(n), width);
  for (std::size_t e = 0; e < n; ++e) {
    if ((header || e > 0) && !f.next(line))
      f.fail("file ends after " + std::to_string(e) + " of " + std::to_string(n) + " fibre lines (" +
             elem_name + " has " + std::to_string(n) + " elements)");
    if (detail::split(line, tok, 7) != width)
      f.fail("expected " + std::to_string(width) + " numbers (" +
             (vectors == 1 ? "a fibre vector" : "fibre and sheet vectors") + "), got " +
             detail::quoted(line));
    for (int c = 0; c < width; ++c) {
      double x = 0;
      if (!detail::parse_double(tok[c], x) || !std::isfinite(x))
        f.fail("fibre component " + detail::quoted(tok[c]) + " is not a finite number");
      values(Eigen::Index(e), c) = x;
    }
  }
  if (f.next(line)) f.fail("more fibre lines than the " + std::to_string(n) + " elements of " + elem_name);
  mesh.set_cell_array("fiber", values.leftCols(3));
  if (vectors == 2) mesh.set_cell_array("sheet", values.rightCols(3));
}

/// Writes every (path, text) pair under a temporary name, then renames them all.
void write_files_atomically(const std::vector<std::pair<fs::path, std::string>>& files) {
  std::vector<fs::path> temps;
  try {
    for (const auto& [path, text] : files) {
      if (path.has_parent_path())
        METAEIK_CHECK(fs::is_directory(path.parent_path()), path.string() << ": cannot write, directory "
                                                                          << path.parent_path().string()
                                                                          << " does not exist");
      temps.push_back(core::temporary_sibling(path));
      std::ofstream out(temps.back(), std::ios::binary);
      METAEIK_CHECK(out, path.string() << ": cannot open for writing");
      out << text;
      out.flush();
      METAEIK_CHECK(out, path.string() << ": write failed");
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      std::error_code ec;
      fs::rename(temps[i], files[i].first, ec);
      METAEIK_CHECK(!ec, files[i].first.string() << ": cannot write (" << ec.message() << ")");
    }
  } catch (...) {
    for (const auto& t : temps) {
      std::error_code ec;
      fs::remove(t, ec);
    }
    throw;
  }
}

const DataArray* cell_array(const TetMesh& mesh, const char* name, int components) {
  const auto it = mesh.cell_data.find(name);
  return it != mesh.cell_data.end() && it->second.components() == components ? &it->second : nullptr;
}

}  // namespace

fs::path opencarp_base(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".pts" || ext == ".elem" || ext == ".lon") return fs::path(path).replace_extension();
  return path;
}

TetMesh read_opencarp(const fs::path& path) {
  const fs::path base = opencarp_base(path);
  const fs::path pts = with_extension(base, ".pts"), elem = with_extension(base, ".elem"),
                 lon = with_extension(base, ".lon");
  TetMesh mesh;
  mesh.points = read_pts(pts);
  read_elem(elem, mesh.num_points(), mesh);
  if (fs::exists(lon)) read_lon(lon, elem.string(), mesh);
  validate(mesh, elem.string());
  return mesh;
}

void write_opencarp(const TetMesh& mesh, const fs::path& path) {
  const fs::path base = opencarp_base(path);
  const fs::path lon = with_extension(base, ".lon");
  std::set<std::string> used_point, used_cell;
  fmt::memory_buffer pts, elem, fib;
  fmt::format_to(std::back_inserter(pts), "{}\n", mesh.num_points());
  for (int i = 0; i < mesh.num_points(); ++i) {
    for (int c = 0; c < 3; ++c) {
      append_um(pts, mesh.points(i, c));
      pts.push_back(c < 2 ? ' ' : '\n');
    }
  }

  const DataArray* tags = cell_array(mesh, "region", 1);
  if (tags) used_cell.insert("region");
  if (!tags && (tags = cell_array(mesh, "physical", 1))) used_cell.insert("physical");
  fmt::format_to(std::back_inserter(elem), "{}\n", mesh.num_tets());
  for (int t = 0; t < mesh.num_tets(); ++t)
    fmt::format_to(std::back_inserter(elem), "Tt {} {} {} {} {}\n", mesh.tets(t, 0), mesh.tets(t, 1),
                   mesh.tets(t, 2), mesh.tets(t, 3), tags ? std::lround(tags->values(t, 0)) : 0L);

  Points fibres, sheets;
  if (const DataArray* f = cell_array(mesh, "fiber", 3)) {
    fibres = f->values;
    used_cell.insert("fiber");
    if (const DataArray* s = cell_array(mesh, "sheet", 3)) {
      sheets = s->values;
      used_cell.insert("sheet");
    }
  } else if (auto it = mesh.point_data.find("fiber");
             it != mesh.point_data.end() && it->second.components() == 3) {
    fibres = tet_fibres(mesh, it->second.values, path.string() + ": fibre array 'fiber'");
    used_point.insert("fiber");
    spdlog::info("{}: per-node fibres 'fiber' averaged per tet for the .lon file", path.string());
  }
  std::vector<std::pair<fs::path, std::string>> files = {
      {with_extension(base, ".pts"), fmt::to_string(pts)},
      {with_extension(base, ".elem"), fmt::to_string(elem)}};
  if (fibres.rows() > 0) {
    const bool two = sheets.rows() > 0;
    fmt::format_to(std::back_inserter(fib), "{}\n", two ? 2 : 1);
    for (int t = 0; t < mesh.num_tets(); ++t) {
      fmt::format_to(std::back_inserter(fib), "{} {} {}", fibres(t, 0), fibres(t, 1), fibres(t, 2));
      if (two) fmt::format_to(std::back_inserter(fib), " {} {} {}", sheets(t, 0), sheets(t, 1), sheets(t, 2));
      fib.push_back('\n');
    }
    files.emplace_back(lon, fmt::to_string(fib));
  }

  std::string dropped;
  for (const auto& [name, a] : mesh.point_data)
    if (!used_point.count(name)) dropped += " point:" + name;
  for (const auto& [name, a] : mesh.cell_data)
    if (!used_cell.count(name)) dropped += " cell:" + name;
  if (!dropped.empty())
    spdlog::warn("{}: openCARP files hold no other arrays; dropped{}", path.string(), dropped);

  write_files_atomically(files);
  if (fibres.rows() == 0 && fs::exists(lon)) {
    std::error_code ec;
    fs::remove(lon, ec);
    spdlog::warn("{}: removed the stale {} (this mesh has no fibres)", path.string(), lon.string());
  }
}

VertexList read_vtx(const fs::path& path, int num_points) {
  TextLines f(path);
  const std::size_t n = f.count("nodes");
  VertexList list;
  std::string_view line, tok[2];
  if (!f.next(line)) f.fail("file ends before the domain line ('intra' or 'extra')");
  if (detail::split(line, tok, 1) != 1 || (tok[0] != "intra" && tok[0] != "extra"))
    f.fail("expected the domain 'intra' or 'extra', got " + detail::quoted(line));
  list.domain = std::string(tok[0]);
  list.nodes.reserve(f.capacity(n, 2));  // "0\n"
  for (std::size_t i = 0; i < n; ++i) {
    if (!f.next(line)) f.fail("file ends after " + std::to_string(i) + " of " + std::to_string(n) + " nodes");
    long long v = -1;
    if (detail::split(line, tok, 1) != 1 || !detail::parse_int(tok[0], v))
      f.fail("expected one node index, got " + detail::quoted(line));
    if (v < 0 || v >= num_points)
      f.fail("node index " + std::to_string(v) + " is out of range [0, " + std::to_string(num_points) +
             ") of the mesh");
    list.nodes.push_back(int(v));
  }
  if (f.next(line)) f.fail("unexpected content after the " + std::to_string(n) + " nodes declared on line 1");
  return list;
}

void write_vtx(const VertexList& list, const fs::path& path) {
  METAEIK_CHECK(
      list.domain == "intra" || list.domain == "extra",
      path.string() << ": vertex list domain must be 'intra' or 'extra', got '" << list.domain << "'");
  core::write_file_atomically(path, [&](std::ostream& out) {
    out << list.nodes.size() << '\n' << list.domain << '\n';
    for (int v : list.nodes) out << v << '\n';
  });
}

}  // namespace metaeik::geometry
