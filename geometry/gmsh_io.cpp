#include "geometry/gmsh_io.hpp"

#include <gmsh.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "geometry/child_process.hpp"

namespace metaeik::geometry {

namespace fs = std::filesystem;

namespace {

constexpr int kGmshTet4 = 4;  // Gmsh element type of the 4-node (linear) tetrahedron

/// The Gmsh SDK's state is global: every use holds this mutex.
std::mutex& gmsh_mutex() {
  static std::mutex m;
  return m;
}

/// One use of the Gmsh SDK (the caller holds gmsh_mutex): silent on the terminal, logging into
/// memory, and finalized (all models cleared) however the scope is left. Gmsh's initialize() also
/// sets the C locale from the environment; the caller's locale is restored.
class GmshSession {
 public:
  GmshSession() : locale_(std::setlocale(LC_ALL, nullptr)) {
    gmsh::initialize(0, nullptr, false);  // no ~/.gmshrc or other config files
    gmsh::option::setNumber("General.Terminal", 0);
    gmsh::logger::start();
  }
  ~GmshSession() {
    try {
      gmsh::logger::stop();
      gmsh::finalize();
    } catch (...) {  // nothing to report from a destructor
    }
    std::setlocale(LC_ALL, locale_.c_str());
  }
  GmshSession(const GmshSession&) = delete;
  GmshSession& operator=(const GmshSession&) = delete;

  /// Gmsh's last logged error on one line ("unknown Gmsh error" if it logged none).
  static std::string last_error() {
    std::string e;
    try {
      gmsh::logger::getLastError(e);
    } catch (...) {
    }
    std::replace(e.begin(), e.end(), '\n', ' ');
    std::replace(e.begin(), e.end(), '\r', ' ');
    return e.empty() ? "unknown Gmsh error" : e;
  }

 private:
  std::string locale_;
};

/// Runs `f` inside a Gmsh session and turns whatever Gmsh throws into one-line core::Errors
/// "<source>: <doing> (<Gmsh's message>)".
template <class F>
void with_gmsh(const std::string& source, const char* doing, F&& f) {
  try {
    GmshSession session;
    try {
      f();
    } catch (const core::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      METAEIK_FAIL(source << ": " << doing << " (out of memory for the sizes it declares)");
    } catch (const std::exception& e) {
      METAEIK_FAIL(source << ": " << doing << " (" << e.what() << ")");
    } catch (...) {  // Gmsh 4.8 throws std::string (and sometimes int) after logging the error
      METAEIK_FAIL(source << ": " << doing << " (" << GmshSession::last_error() << ")");
    }
  } catch (const core::Error&) {
    throw;
  } catch (...) {
    METAEIK_FAIL(source << ": " << doing << " (the Gmsh SDK failed to start)");
  }
}

/// Refuses anything but MSH 2/4 before Gmsh sees it: for a file that does not start with
/// $MeshFormat, Gmsh would try to run it as a .geo script.
void check_msh_header(const fs::path& path, const std::string& source) {
  std::error_code ec;
  METAEIK_CHECK(fs::exists(path, ec), source << ": file does not exist");
  METAEIK_CHECK(fs::is_regular_file(path, ec), source << ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  METAEIK_CHECK(in, source << ": cannot open for reading");
  std::string head(64, '\0');
  in.read(head.data(), std::streamsize(head.size()));
  head.resize(std::size_t(in.gcount()));
  const auto start = head.find_first_not_of(" \t\r\n");
  METAEIK_CHECK(start != std::string::npos && head.compare(start, 11, "$MeshFormat") == 0,
                source << ": not a Gmsh MSH 2 or 4 file (it does not start with $MeshFormat)");
}

std::string element_census() {
  std::vector<int> types;
  gmsh::model::mesh::getElementTypes(types);
  std::string s;
  for (int type : types) {
    std::vector<std::size_t> tags, nodes;
    gmsh::model::mesh::getElementsByType(type, tags, nodes);
    std::string name;
    int dim = 0, order = 0, nn = 0, np = 0;
    std::vector<double> local;
    gmsh::model::mesh::getElementProperties(type, name, dim, order, nn, local, np);
    s += (s.empty() ? "" : ", ") + std::to_string(tags.size()) + " × " + name + " (type " +
         std::to_string(type) + ")";
  }
  return s.empty() ? "no elements" : s;
}

/// What read_msh_model leaves out (reported by the parent process, which logs).
struct Dropped {
  std::int64_t nodes = 0;          ///< nodes no tet uses
  std::int64_t volume_others = 0;  ///< volume elements other than linear tets
};

TetMesh read_msh_model(const std::string& source, Dropped& dropped) {
  // Tets of every volume, with the volume's first physical tag.
  std::vector<std::size_t> tet_tags, tet_nodes;
  std::vector<int> tet_physical;
  gmsh::vectorpair volumes;
  gmsh::model::getEntities(volumes, 3);
  for (const auto& [dim, tag] : volumes) {
    std::vector<std::size_t> tags, nodes;
    gmsh::model::mesh::getElementsByType(kGmshTet4, tags, nodes, tag);
    std::vector<int> physical;
    gmsh::model::getPhysicalGroupsForEntity(dim, tag, physical);
    tet_tags.insert(tet_tags.end(), tags.begin(), tags.end());
    tet_nodes.insert(tet_nodes.end(), nodes.begin(), nodes.end());
    tet_physical.insert(tet_physical.end(), tags.size(), physical.empty() ? 0 : physical.front());
  }
  METAEIK_CHECK(!tet_tags.empty(),
                source << ": mesh has no linear tetrahedra (Gmsh type 4); it holds " << element_census());
  METAEIK_CHECK(tet_nodes.size() == 4 * tet_tags.size(), source << ": Gmsh returned " << tet_nodes.size()
                                                                << " node tags for " << tet_tags.size()
                                                                << " tets");

  std::vector<std::size_t> node_tags;
  std::vector<double> coords, parametric;
  gmsh::model::mesh::getNodes(node_tags, coords, parametric, -1, -1, false, false);
  std::vector<std::size_t> by_tag(node_tags.size());
  std::iota(by_tag.begin(), by_tag.end(), std::size_t(0));
  std::sort(by_tag.begin(), by_tag.end(),
            [&](std::size_t a, std::size_t b) { return node_tags[a] < node_tags[b]; });
  std::vector<std::size_t> sorted(node_tags.size());
  for (std::size_t i = 0; i < by_tag.size(); ++i) sorted[i] = node_tags[by_tag[i]];
  // Keep the nodes the tets use, in node-tag order.
  std::vector<int> index(sorted.size(), -1);
  for (std::size_t k = 0; k < tet_nodes.size(); ++k) {
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), tet_nodes[k]);
    METAEIK_CHECK(it != sorted.end() && *it == tet_nodes[k],
                  source << ": a tetrahedron references node " << tet_nodes[k] << ", which the file lacks");
    index[std::size_t(it - sorted.begin())] = 0;
  }
  int used = 0;
  for (auto& i : index)
    if (i == 0) i = used++;
  dropped.nodes = std::int64_t(sorted.size()) - used;

  TetMesh mesh;
  mesh.points.resize(used, 3);
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (index[i] >= 0)
      for (int c = 0; c < 3; ++c) mesh.points(index[i], c) = coords[3 * by_tag[i] + std::size_t(c)];
  // Tets in element-tag order (the file's order, whatever volume they belong to).
  std::vector<std::size_t> order(tet_tags.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return tet_tags[a] < tet_tags[b]; });
  mesh.tets.resize(Eigen::Index(order.size()), 4);
  Eigen::VectorXd physical(Eigen::Index(order.size()));
  for (std::size_t t = 0; t < order.size(); ++t) {
    for (int k = 0; k < 4; ++k) {
      const std::size_t tag = tet_nodes[4 * order[t] + std::size_t(k)];
      mesh.tets(Eigen::Index(t), k) =
          index[std::size_t(std::lower_bound(sorted.begin(), sorted.end(), tag) - sorted.begin())];
    }
    physical[Eigen::Index(t)] = tet_physical[order[t]];
  }
  mesh.set_cell_array("physical", physical, ScalarType::kInt32);

  std::size_t other_volume = 0;
  std::vector<int> types;
  gmsh::model::mesh::getElementTypes(types, 3);
  for (int type : types) {
    if (type == kGmshTet4) continue;
    std::vector<std::size_t> tags, nodes;
    gmsh::model::mesh::getElementsByType(type, tags, nodes);
    other_volume += tags.size();
  }
  dropped.volume_others = std::int64_t(other_volume);
  return mesh;
}

/// The mesh as bytes across the pipe from the reading child: counts, then raw arrays.
std::string pack(const TetMesh& mesh, const Dropped& dropped) {
  const std::int64_t head[4] = {mesh.num_points(), mesh.num_tets(), dropped.nodes, dropped.volume_others};
  const Eigen::Matrix<int, Eigen::Dynamic, 1> physical =
      mesh.cell_data.at("physical").values.col(0).cast<int>();
  std::string b(reinterpret_cast<const char*>(head), sizeof(head));
  b.append(reinterpret_cast<const char*>(mesh.points.data()),
           sizeof(double) * std::size_t(mesh.points.size()));
  b.append(reinterpret_cast<const char*>(mesh.tets.data()), sizeof(int) * std::size_t(mesh.tets.size()));
  b.append(reinterpret_cast<const char*>(physical.data()), sizeof(int) * std::size_t(physical.size()));
  return b;
}

TetMesh unpack(const std::string& b, Dropped& dropped, const std::string& source) {
  std::int64_t head[4] = {0, 0, 0, 0};
  METAEIK_CHECK(b.size() >= sizeof(head), source << ": cannot read Gmsh mesh (short reply from the reader)");
  std::memcpy(head, b.data(), sizeof(head));
  const std::size_t np = std::size_t(head[0]), nt = std::size_t(head[1]);
  METAEIK_CHECK(b.size() == sizeof(head) + 24 * np + 20 * nt,
                source << ": cannot read Gmsh mesh (short reply from the reader)");
  TetMesh mesh;
  const char* p = b.data() + sizeof(head);
  mesh.points = Eigen::Map<const Points>(reinterpret_cast<const double*>(p), Eigen::Index(np), 3);
  p += 24 * np;
  mesh.tets = Eigen::Map<const Tets>(reinterpret_cast<const int*>(p), Eigen::Index(nt), 4);
  p += 16 * nt;
  mesh.set_cell_array(
      "physical",
      Eigen::Map<const Eigen::VectorXi>(reinterpret_cast<const int*>(p), Eigen::Index(nt)).cast<double>(),
      ScalarType::kInt32);
  dropped.nodes = head[2];
  dropped.volume_others = head[3];
  return mesh;
}

}  // namespace

TetMesh read_msh(const fs::path& path) {
  const std::string source = path.string();
  check_msh_header(path, source);
  // Gmsh's MSH 4.1 binary reader follows unchecked node tags (a corrupted element block crashes
  // it), so the file is read in a child process; a crash there is an error here.
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(gmsh_mutex());  // no thread of ours inside Gmsh while forking
    bytes = detail::run_in_child(
        [&] {
          TetMesh mesh;
          Dropped dropped;
          with_gmsh(source, "cannot read Gmsh mesh", [&] {
            gmsh::open(source);
            // Gmsh logs some parse errors without throwing.
            std::string error;
            gmsh::logger::getLastError(error);
            METAEIK_CHECK(error.empty(),
                          source << ": cannot read Gmsh mesh (" << GmshSession::last_error() << ")");
            mesh = read_msh_model(source, dropped);
          });
          return pack(mesh, dropped);
        },
        source + ": cannot read Gmsh mesh", "the Gmsh SDK crashed on it");
  }
  Dropped dropped;
  TetMesh mesh = unpack(bytes, dropped, source);
  if (dropped.nodes > 0) spdlog::warn("{}: dropped {} nodes that no tetrahedron uses", source, dropped.nodes);
  if (dropped.volume_others > 0)
    spdlog::warn("{}: ignoring {} non-linear-tetrahedral volume elements", source, dropped.volume_others);
  validate(mesh, source);
  return mesh;
}

void write_msh(const TetMesh& mesh, const fs::path& path, const MshOptions& options) {
  const std::string source = path.string();
  METAEIK_CHECK(options.version == 2.2 || options.version == 4.1,
                source << ": Gmsh MSH version must be 2.2 or 4.1, got " << options.version);
  const DataArray* tags = nullptr;
  std::string tag_name;
  for (const char* name : {"physical", "region"}) {
    const auto it = mesh.cell_data.find(name);
    if (!tags && it != mesh.cell_data.end() && it->second.components() == 1) {
      tags = &it->second;
      tag_name = name;
    }
  }
  std::map<int, std::vector<std::size_t>> groups;  // tag (0 = none) → tet indices
  for (int t = 0; t < mesh.num_tets(); ++t) {
    const int tag = tags ? int(std::lround(tags->values(t, 0))) : 0;
    groups[std::max(tag, 0)].push_back(std::size_t(t));
  }
  METAEIK_CHECK(options.version == 4.1 || groups.size() == 1 || !groups.count(0),
                source << ": MSH 2.2 cannot hold tets without a positive physical tag ('" << tag_name
                       << "' <= 0) next to tagged ones; write MSH 4.1");
  std::string dropped;
  for (const auto& [name, a] : mesh.point_data) dropped += " point:" + name;
  for (const auto& [name, a] : mesh.cell_data)
    if (name != tag_name) dropped += " cell:" + name;
  if (!dropped.empty())
    spdlog::warn("{}: Gmsh files hold only tets and physical tags; dropped{}", source, dropped);

  core::write_atomically(path, [&](const fs::path& tmp) {
    fs::path msh_tmp = tmp;
    msh_tmp += ".msh";  // Gmsh picks the format by extension
    try {
      std::lock_guard<std::mutex> lock(gmsh_mutex());
      with_gmsh(source, "cannot write Gmsh mesh", [&] {
        gmsh::model::add("metaeikonal");
        int entity = 0;
        for (const auto& [tag, tets] : groups) {
          gmsh::model::addDiscreteEntity(3, ++entity);
          if (entity == 1) {
            std::vector<std::size_t> node_tags(std::size_t(mesh.num_points()));
            std::iota(node_tags.begin(), node_tags.end(), std::size_t(1));
            std::vector<double> coords(mesh.points.data(), mesh.points.data() + mesh.points.size());
            gmsh::model::mesh::addNodes(3, entity, node_tags, coords);
          }
          std::vector<std::size_t> element_tags, nodes;
          for (std::size_t t : tets) {
            element_tags.push_back(t + 1);
            for (int k = 0; k < 4; ++k) nodes.push_back(std::size_t(mesh.tets(Eigen::Index(t), k)) + 1);
          }
          gmsh::model::mesh::addElementsByType(entity, kGmshTet4, element_tags, nodes);
          if (tag > 0) gmsh::model::addPhysicalGroup(3, {entity}, tag);
        }
        gmsh::option::setNumber("Mesh.MshFileVersion", options.version);
        gmsh::option::setNumber("Mesh.Binary", options.binary ? 1 : 0);
        // MSH 4.1 keeps untagged volumes with SaveAll; MSH 2.2 would then write every physical tag as 0.
        gmsh::option::setNumber("Mesh.SaveAll", options.version == 4.1 ? 1 : 0);
        gmsh::write(msh_tmp.string());
        std::string error;
        gmsh::logger::getLastError(error);
        METAEIK_CHECK(error.empty() && fs::exists(msh_tmp),
                      source << ": cannot write Gmsh mesh (" << GmshSession::last_error() << ")");
      });
      std::error_code ec;
      fs::rename(msh_tmp, tmp, ec);
      METAEIK_CHECK(!ec, source << ": cannot write (" << ec.message() << ")");
    } catch (...) {
      std::error_code ec;
      fs::remove(msh_tmp, ec);
      throw;
    }
  });
}

}  // namespace metaeik::geometry
