#include "geometry/vtk_io_checks.hpp"

#include <vtkBase64Utilities.h>
#include <vtkLZ4DataCompressor.h>
#include <vtkLZMADataCompressor.h>
#include <vtkNew.h>
#include <vtkSmartPointer.h>
#include <vtkXMLDataElement.h>
#include <vtkZLibDataCompressor.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace metaeik::geometry::detail {

namespace {

constexpr std::uint64_t kMaxCount = std::uint64_t(1) << 52;  // any larger count is corrupt

/// A non-negative decimal integer (surrounding blanks allowed) or throws naming `what`.
std::uint64_t parse_count(const char* text, const std::string& what, const std::string& path) {
  const std::string s = text ? text : "";
  const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  bool ok = b != std::string::npos && e - b < 16;
  std::uint64_t v = 0;
  for (std::size_t i = b; ok && i <= e; ++i) {
    ok = std::isdigit(static_cast<unsigned char>(s[i])) != 0;
    v = 10 * v + std::uint64_t(s[i] - '0');
  }
  METAEIK_CHECK(ok && v <= kMaxCount,
                path << ": " << what << " is not a valid count (\"" << s.substr(0, 24) << "\")");
  return v;
}

/// a·b, or throws when it exceeds kMaxCount.
std::uint64_t times(std::uint64_t a, std::uint64_t b, const std::string& what, const std::string& path) {
  METAEIK_CHECK(a == 0 || b <= kMaxCount / a,
                path << ": " << what << " is too large (" << a << " x " << b << ")");
  return a * b;
}

int word_size(const std::string& type) {
  if (type == "Int8" || type == "UInt8" || type == "Char") return 1;
  if (type == "Int16" || type == "UInt16") return 2;
  if (type == "Int32" || type == "UInt32" || type == "Float32") return 4;
  if (type == "Int64" || type == "UInt64" || type == "Float64") return 8;
  return 0;
}

/// Reads parts of the file: raw bytes, or the base64 text of appended/inline binary data.
class FileView {
 public:
  FileView(const std::string& path, std::uint64_t size)
      : in_(path, std::ios::binary), path_(path), size_(size) {}
  std::uint64_t size() const { return size_; }
  /// `n` bytes at `pos`, or empty when the file ends first.
  std::string raw(std::uint64_t pos, std::uint64_t n) {
    if (pos > size_ || n > size_ - pos) return {};
    std::string s(n, '\0');
    in_.clear();
    in_.seekg(std::streamoff(pos));
    in_.read(s.data(), std::streamsize(n));
    return in_ ? s : std::string();
  }
  /// The first `n` decoded bytes of the base64 text at `pos`, or empty when it is too short/invalid.
  std::string base64(std::uint64_t pos, std::uint64_t n) {
    const std::string text = raw(pos, 4 * ((n + 2) / 3));
    if (text.empty() && n > 0) return {};
    std::string out(text.size(), '\0');
    const std::size_t got =
        vtkBase64Utilities::DecodeSafely(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                                         reinterpret_cast<unsigned char*>(out.data()), out.size());
    if (got < n) return {};
    out.resize(n);
    return out;
  }
  /// Offset of the first byte at or after `pos` that is not blank.
  std::uint64_t skip_blanks(std::uint64_t pos) {
    for (;; pos += 64) {
      const std::string s = raw(pos, std::min<std::uint64_t>(64, size_ - std::min(pos, size_)));
      if (s.empty()) return size_;
      const auto k = s.find_first_not_of(" \t\r\n");
      if (k != std::string::npos) return pos + k;
    }
  }
  /// Offsets just past the '>' of every "<DataArray" start tag before `end`, in file order.
  std::vector<std::uint64_t> data_array_starts(std::uint64_t end) {
    const std::string text = raw(0, std::min(end, size_));
    std::vector<std::uint64_t> out;
    for (std::size_t p = 0; (p = text.find("<DataArray", p)) != std::string::npos; ++p) {
      const auto gt = text.find('>', p);
      if (gt == std::string::npos) break;
      out.push_back(gt + 1);
    }
    return out;
  }

 private:
  std::ifstream in_;
  std::string path_;
  std::uint64_t size_;
};

struct Layout {
  int header_bytes = 4;  ///< header_type UInt32 or UInt64
  bool big_endian = false;
  double max_ratio = 1;  ///< bound on uncompressed / compressed bytes of one block
  bool compressed = false;
  std::string compressor;
};

constexpr int kPolyhedron = 42;  // VTK_POLYHEDRON: VTK decomposes its face stream while reading

/// The bytes of a raw (not base64) appended array at `pos`, decompressed; its header was checked.
std::string raw_array_bytes(FileView& f, std::uint64_t pos, const Layout& l, const std::string& what,
                            const std::string& path);

std::uint64_t word(const std::string& bytes, std::size_t i, const Layout& l) {
  std::uint64_t v = 0;
  for (int k = 0; k < l.header_bytes; ++k) {
    const int src = l.big_endian ? l.header_bytes - 1 - k : k;
    v |= std::uint64_t(static_cast<unsigned char>(bytes[i * l.header_bytes + src])) << (8 * k);
  }
  return v;
}

/// Checks the header of one binary (raw or base64) array at `pos` and returns the number of
/// uncompressed bytes it declares; every declared size must fit in the bytes the file has left.
std::uint64_t check_binary_array(FileView& f, std::uint64_t pos, bool base64, const Layout& l,
                                 const std::string& what, const std::string& path) {
  const auto chars = [&](std::uint64_t bytes) { return base64 ? 4 * ((bytes + 2) / 3) : bytes; };
  const auto read = [&](std::uint64_t n) { return base64 ? f.base64(pos, n) : f.raw(pos, n); };
  const std::uint64_t left = pos < f.size() ? f.size() - pos : 0;
  const std::uint64_t w = std::uint64_t(l.header_bytes);
  if (!l.compressed) {
    const std::string h = read(w);
    METAEIK_CHECK(!h.empty(), path << ": " << what << ": data header lies beyond the end of the file");
    const std::uint64_t n = word(h, 0, l);
    const std::uint64_t room = left - chars(w);
    METAEIK_CHECK(n <= (base64 ? room / 4 * 3 : room),
                  path << ": " << what << " declares " << n << " bytes, more than the file holds");
    return n;
  }
  const std::string h3 = read(3 * w);
  METAEIK_CHECK(!h3.empty(), path << ": " << what << ": compression header lies beyond the end of the file");
  const std::uint64_t blocks = word(h3, 0, l), block = word(h3, 1, l), last = word(h3, 2, l);
  METAEIK_CHECK(blocks <= left / w, path << ": " << what << ": compression header declares " << blocks
                                         << " blocks, more than the file holds");
  const std::string h = read((3 + blocks) * w);
  METAEIK_CHECK(!h.empty(), path << ": " << what << ": compression header lies beyond the end of the file");
  std::uint64_t packed = 0, unpacked = 0;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::uint64_t c = word(h, 3 + b, l);
    const std::uint64_t u = b + 1 == blocks && last != 0 ? last : block;
    METAEIK_CHECK(c <= left && double(u) <= l.max_ratio * double(c) + 1024,
                  path << ": " << what << ": compressed block " << b << " declares " << u << " bytes from "
                       << c << ", more than the file can hold");
    packed += c;
    unpacked += u;
  }
  const std::uint64_t room = left - std::min(left, chars((3 + blocks) * w));
  METAEIK_CHECK(packed <= (base64 ? room / 4 * 3 : room), path << ": " << what << ": compressed blocks of "
                                                               << packed
                                                               << " bytes run past the end of the file");
  METAEIK_CHECK(last <= block, path << ": " << what << ": last block (" << last
                                    << " bytes) larger than a block (" << block << ")");
  return unpacked;
}

std::string raw_array_bytes(FileView& f, std::uint64_t pos, const Layout& l, const std::string& what,
                            const std::string& path) {
  const std::uint64_t w = std::uint64_t(l.header_bytes);
  if (!l.compressed) return f.raw(pos + w, word(f.raw(pos, w), 0, l));
  const std::string h3 = f.raw(pos, 3 * w);
  const std::uint64_t blocks = word(h3, 0, l), block = word(h3, 1, l), last = word(h3, 2, l);
  const std::string h = f.raw(pos, (3 + blocks) * w);
  vtkSmartPointer<vtkDataCompressor> c;
  if (l.compressor == "vtkZLibDataCompressor")
    c = vtkSmartPointer<vtkZLibDataCompressor>::New();
  else if (l.compressor == "vtkLZ4DataCompressor")
    c = vtkSmartPointer<vtkLZ4DataCompressor>::New();
  else
    c = vtkSmartPointer<vtkLZMADataCompressor>::New();
  std::string out;
  std::uint64_t at = pos + (3 + blocks) * w;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::uint64_t size = word(h, 3 + b, l), u = b + 1 == blocks && last != 0 ? last : block;
    const std::string packed = f.raw(at, size);
    std::string unpacked(u, '\0');
    const std::size_t got =
        c->Uncompress(reinterpret_cast<const unsigned char*>(packed.data()), packed.size(),
                      reinterpret_cast<unsigned char*>(unpacked.data()), unpacked.size());
    METAEIK_CHECK(got == u, path << ": " << what << ": compressed block " << b << " does not decompress");
    out += unpacked;
    at += size;
  }
  return out;
}

/// Throws when a cell type is VTK_POLYHEDRON (as VTK stores it: the low byte).
void check_cell_types(const std::vector<long long>& types, const std::string& what, const std::string& path) {
  for (std::size_t i = 0; i < types.size(); ++i)
    METAEIK_CHECK((types[i] & 0xFF) != kPolyhedron,
                  path << ": " << what << ": cell " << i << " has type " << types[i]
                       << " (polyhedron), which this reader does not support");
}

vtkXMLDataElement* nested(vtkXMLDataElement* e, const char* name) {
  for (int i = 0; e && i < e->GetNumberOfNestedElements(); ++i)
    if (std::string(e->GetNestedElement(i)->GetName()) == name) return e->GetNestedElement(i);
  return nullptr;
}

std::string attribute(vtkXMLDataElement* e, const char* name) {
  const char* a = e->GetAttribute(name);
  return a ? a : "";
}

}  // namespace

void check_vtu_sizes(vtkXMLDataElement* root, std::int64_t appended_pos, const std::string& path,
                     std::uint64_t file_size) {
  METAEIK_CHECK(root && std::string(root->GetName()) == "VTKFile", path << ": not a VTK XML file");
  Layout l;
  const std::string header_type = attribute(root, "header_type"), compressor = attribute(root, "compressor");
  const std::string byte_order = attribute(root, "byte_order");
  METAEIK_CHECK(header_type.empty() || header_type == "UInt32" || header_type == "UInt64",
                path << ": unsupported header_type \"" << header_type << "\" (expected UInt32 or UInt64)");
  l.header_bytes = header_type == "UInt64" ? 8 : 4;
  METAEIK_CHECK(byte_order.empty() || byte_order == "LittleEndian" || byte_order == "BigEndian",
                path << ": unsupported byte_order \"" << byte_order << "\"");
  l.big_endian = byte_order == "BigEndian";
  // Largest expansion of one block: zlib ≈ 1032:1, LZ4 ≈ 255:1, LZMA a few thousand to one.
  if (compressor == "vtkZLibDataCompressor")
    l.max_ratio = 1100;
  else if (compressor == "vtkLZ4DataCompressor")
    l.max_ratio = 300;
  else if (compressor == "vtkLZMADataCompressor")
    l.max_ratio = 8000;
  else
    METAEIK_CHECK(compressor.empty(), path << ": unsupported compressor \"" << compressor << "\"");
  l.compressed = !compressor.empty();
  l.compressor = compressor;

  FileView f(path, file_size);
  std::string appended_encoding;
  if (auto* app = nested(root, "AppendedData")) appended_encoding = attribute(app, "encoding");
  METAEIK_CHECK(appended_encoding.empty() || appended_encoding == "raw" || appended_encoding == "base64",
                path << ": unsupported AppendedData encoding \"" << appended_encoding << "\"");
  const auto inline_starts = f.data_array_starts(appended_pos >= 0 ? std::uint64_t(appended_pos) : file_size);
  std::size_t data_array_index = 0;  // document order, matches inline_starts

  vtkXMLDataElement* grid = nested(root, "UnstructuredGrid");
  METAEIK_CHECK(grid, path << ": no UnstructuredGrid element");
  for (int p = 0; p < grid->GetNumberOfNestedElements(); ++p) {
    vtkXMLDataElement* piece = grid->GetNestedElement(p);
    if (std::string(piece->GetName()) != "Piece") continue;
    const std::uint64_t points = parse_count(piece->GetAttribute("NumberOfPoints"), "NumberOfPoints", path);
    const std::uint64_t cells = parse_count(piece->GetAttribute("NumberOfCells"), "NumberOfCells", path);
    for (int s = 0; s < piece->GetNumberOfNestedElements(); ++s) {
      vtkXMLDataElement* section = piece->GetNestedElement(s);
      const std::string sname = section->GetName();
      for (int a = 0; a < section->GetNumberOfNestedElements(); ++a) {
        vtkXMLDataElement* array = section->GetNestedElement(a);
        if (std::string(array->GetName()) != "DataArray") continue;
        const std::size_t index = data_array_index++;
        const std::string name = attribute(array, "Name"), type = attribute(array, "type");
        const std::string what = sname + " DataArray '" + name + "'";
        const int ws = word_size(type);
        METAEIK_CHECK(ws > 0, path << ": " << what << " has unknown type \"" << type << "\"");
        const std::uint64_t components =
            array->GetAttribute("NumberOfComponents")
                ? parse_count(array->GetAttribute("NumberOfComponents"), what + " NumberOfComponents", path)
                : 1;
        // VTK allocates at least one tuple (the connectivity's count is set by the data).
        METAEIK_CHECK(components * std::uint64_t(ws) <= file_size,
                      path << ": " << what << " NumberOfComponents " << components
                           << " is more than the file can hold");
        // Values VTK will allocate for this array before reading it (0 = set by the data).
        std::uint64_t tuples = 0;
        if (sname == "Points" || sname == "PointData")
          tuples = points;
        else if (sname == "CellData" || (sname == "Cells" && (name == "types" || name == "offsets")))
          tuples = cells;
        const std::uint64_t values = times(tuples, components, what + " size", path);
        const std::uint64_t bytes = times(values, std::uint64_t(ws), what + " size", path);
        const std::string format = attribute(array, "format");
        std::uint64_t declared = 0;
        if (format == "appended") {
          METAEIK_CHECK(appended_pos >= 0,
                        path << ": " << what << " is appended, but the file has no AppendedData");
          const std::uint64_t offset = parse_count(array->GetAttribute("offset"), what + " offset", path);
          const std::uint64_t pos = std::uint64_t(appended_pos) + offset;
          METAEIK_CHECK(offset < file_size && pos < file_size,
                        path << ": " << what << " offset " << offset << " lies beyond the end of the file");
          declared = check_binary_array(f, pos, appended_encoding == "base64", l, what, path);
          if (sname == "Cells" && name == "types" && ws == 1 && appended_encoding != "base64") {
            const std::string t = raw_array_bytes(f, pos, l, what, path);
            check_cell_types(std::vector<long long>(t.begin(), t.end()), what, path);
          }
        } else if (format == "binary") {
          METAEIK_CHECK(index < inline_starts.size(), path << ": " << what << ": inline data not found");
          declared = check_binary_array(f, f.skip_blanks(inline_starts[index]), true, l, what, path);
        } else if (format == "ascii") {
          // Every ASCII value takes at least one character and a separator.
          METAEIK_CHECK(values <= file_size / 2 + 1, path << ": " << what << " needs " << values
                                                          << " ASCII values, more than the file holds");
          if (sname == "Cells" && name == "types" && index < inline_starts.size()) {
            std::string text =
                f.raw(inline_starts[index],
                      std::min<std::uint64_t>(file_size - inline_starts[index], 8 * values + 64));
            std::istringstream is(text.substr(0, text.find('<')));
            std::vector<long long> t;
            for (long long v; t.size() < values && is >> v;) t.push_back(v);
            check_cell_types(t, what, path);
          }
          continue;
        } else {
          METAEIK_FAIL(path << ": " << what << " has unknown format \"" << format << "\"");
        }
        METAEIK_CHECK(declared >= bytes,
                      path << ": " << what << " holds " << declared << " bytes, but "
                           << (sname == "CellData" || sname == "Cells" ? "NumberOfCells=" : "NumberOfPoints=")
                           << tuples << " needs " << bytes);
      }
    }
  }
}

void check_legacy_vtk_sizes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  METAEIK_CHECK(in, path << ": cannot open file");
  in.seekg(0, std::ios::end);
  const std::uint64_t size = std::uint64_t(in.tellg());
  in.seekg(0);
  static const char* const kTypes[] = {"bit",          "unsigned_char", "char",   "unsigned_short",
                                       "short",        "unsigned_int",  "int",    "unsigned_long",
                                       "long",         "float",         "double", "vtkidtype",
                                       "vtktypeint64", "vtktypeint32",  "string"};
  std::string line;
  // VTK picks the cell layout by the version (< 5: counts inline, ≥ 5: OFFSETS + CONNECTIVITY) and
  // misreads a file whose version does not match its layout.
  std::getline(in, line);
  const std::string tag = "# vtk DataFile Version ";
  int major = -1, minor = -1;
  if (line.rfind(tag, 0) == 0 && line.size() >= tag.size() + 3 && line[tag.size() + 1] == '.') {
    const std::string v = line.substr(tag.size());
    if (std::isdigit(static_cast<unsigned char>(v[0])) && std::isdigit(static_cast<unsigned char>(v[2])) &&
        v.find_first_not_of(" \r", 3) == std::string::npos) {
      major = v[0] - '0';
      minor = v[2] - '0';
    }
  }
  METAEIK_CHECK(major >= 1 && major <= 5 && (major < 5 || minor <= 1),
                path << ": not a legacy VTK file of a supported version (first line \"" << line.substr(0, 40)
                     << "\", expected \"# vtk DataFile Version 1.0 ... 5.1\")");
  bool binary = false;
  while (std::getline(in, line)) {
    if (line.size() > 256) continue;  // binary data, not a section line
    if (line.rfind("BINARY", 0) == 0 || line.rfind("binary", 0) == 0) binary = true;
    std::istringstream is(line);
    std::vector<std::string> tok;
    for (std::string t; is >> t && tok.size() < 6;) tok.push_back(t);
    if (tok.size() < 2) continue;
    std::string key = tok[0];
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    const auto count = [&](std::size_t i) { return parse_count(tok[i].c_str(), tok[0] + " count", path); };
    // Each value takes at least one byte, binary or ASCII.
    const auto bound = [&](std::uint64_t values, const std::string& what) {
      METAEIK_CHECK(values <= size, path << ": " << what << " declares " << values
                                         << " values, more than the file's " << size << " bytes hold");
    };
    if (key == "scalars" && tok.size() >= 4) bound(count(3), "SCALARS components");
    if (key == "color_scalars" && tok.size() >= 3) bound(count(2), "COLOR_SCALARS components");
    if (key == "texture_coordinates" && tok.size() >= 3) bound(count(2), "TEXTURE_COORDINATES dimension");
    if (key == "cell_types") {
      // VTK decomposes polyhedron cells while reading them; a corrupted type must not get there.
      const std::uint64_t n = count(1);
      bound(n, "CELL_TYPES");
      std::vector<long long> types;
      for (std::uint64_t i = 0; i < n && in; ++i) {
        if (binary) {
          unsigned char b[4] = {0, 0, 0, 0};
          in.read(reinterpret_cast<char*>(b), 4);
          types.push_back((long long)b[0] << 24 | (long long)b[1] << 16 | (long long)b[2] << 8 | b[3]);
        } else {
          long long v = 0;
          if (in >> v) types.push_back(v);
        }
      }
      check_cell_types(types, "CELL_TYPES", path);
      in.clear();
      continue;
    }
    if (key == "points")
      bound(times(count(1), 3, "POINTS", path), "POINTS");
    else if (key == "cells" && tok.size() >= 3) {
      bound(count(1), "CELLS");
      bound(count(2), "CELLS size");
    } else if (key == "cell_types" || key == "point_data" || key == "cell_data" || key == "lookup_table" ||
               key == "field")
      if (key != "lookup_table" || tok.size() >= 3)
        bound(times(count(key == "lookup_table" || key == "field" ? 2 : 1), key == "lookup_table" ? 4 : 1,
                    tok[0], path),
              tok[0]);
    // A field array line: name components tuples type (VTK reads the counts as int).
    std::string last = tok.back();
    std::transform(last.begin(), last.end(), last.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (tok.size() == 4 && std::find(std::begin(kTypes), std::end(kTypes), last) != std::end(kTypes))
      bound(times(count(1), count(2), "field array " + tok[0], path), "field array '" + tok[0] + "'");
  }
}

}  // namespace metaeik::geometry::detail
