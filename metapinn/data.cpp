#include "metapinn/data.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.hpp"
#include "core/threads.hpp"
#include "eikonal/dataset.hpp"
#include "geometry/graph.hpp"

namespace metaeik::metapinn {

std::vector<int> Corpus::maps_of(int subject, const std::string& split) const {
  std::vector<int> out;
  for (int m = 0; m < int(maps.size()); ++m)
    if (maps[m].subject == subject && (split.empty() || maps[m].split == split)) out.push_back(m);
  return out;
}

Corpus Corpus::from_dataset(const eikonal::Dataset& dataset) {
  Corpus c;
  for (int g = 0; g < int(dataset.geometries().size()); ++g) {
    const auto& mesh = dataset.mesh(g);
    CorpusGeometry cg;
    cg.name = dataset.geometries()[g].name;
    cg.points = mesh.points;
    cg.tets = mesh.tets;
    cg.observed = dataset.observation_mask(g);
    c.geometries.push_back(std::move(cg));
  }
  for (int s = 0; s < int(dataset.subjects().size()); ++s) {
    CorpusSubject cs;
    cs.geometry = dataset.subjects()[s].geometry;
    for (int t = 0; t < s; ++t) cs.scar += dataset.subjects()[t].geometry == cs.geometry;
    cs.name = dataset.geometries()[cs.geometry].name + "/" + dataset.subjects()[s].scar;
    cs.speed = dataset.speed(s);
    c.subjects.push_back(std::move(cs));
  }
  for (int m = 0; m < int(dataset.maps().size()); ++m) {
    CorpusMap cm;
    cm.subject = dataset.maps()[m].subject;
    cm.id = m;
    cm.split = dataset.maps()[m].split;
    cm.truth = dataset.activation(m);
    cm.observation = dataset.observation(m);
    c.maps.push_back(std::move(cm));
  }
  return c;
}

std::vector<int> held_out_subjects(const Corpus& corpus, const std::string& holdout, int geometry) {
  std::vector<int> out;
  if (holdout == "geometry")
    METAEIK_CHECK(geometry >= 0 && geometry < int(corpus.geometries.size()),
                  "holdout_geometry " << geometry << " is not a geometry of the data (0-"
                                      << int(corpus.geometries.size()) - 1 << ")");
  for (int s = 0; s < int(corpus.subjects.size()); ++s) {
    const auto& subject = corpus.subjects[s];
    if ((holdout == "diagonal" && subject.scar == subject.geometry) ||
        (holdout == "geometry" && subject.geometry == geometry))
      out.push_back(s);
  }
  METAEIK_CHECK(holdout == "none" || !out.empty(),
                "holdout '" << holdout << "' selects no subject of the data");
  return out;
}

namespace {
Scaling scaling_of(const geometry::Points& points, double speed_scale) {
  Scaling s;
  const Eigen::Vector3d lo = points.colwise().minCoeff().transpose(),
                        hi = points.colwise().maxCoeff().transpose();
  s.centre = 0.5 * (lo + hi);
  s.length = std::max(0.5 * (hi - lo).norm(), 1e-12);
  s.time = s.length / speed_scale;
  return s;
}

torch::Tensor scaled_points(const geometry::Points& p, const Scaling& s) {
  auto t = torch::empty({p.rows(), 3}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (Eigen::Index i = 0; i < p.rows(); ++i)
    for (int d = 0; d < 3; ++d) a[i][d] = (p(i, d) - s.centre[d]) / s.length;
  return t;
}
}  // namespace

PreparedGeometry prepare_geometry(const geometry::Points& points, const geometry::Tets& tets,
                                  const Eigen::VectorXi& observed, const DataOptions& options,
                                  int kernel_size, torch::Device device, torch::Dtype dtype) {
  METAEIK_CHECK(observed.size() == points.rows(), "observation mask has " << observed.size()
                                                                          << " entries, the mesh "
                                                                          << points.rows() << " points");
  keep_freed_memory();
  PreparedGeometry g;
  g.num_nodes = int(points.rows());
  g.scaling = scaling_of(points, options.speed_scale);
  geometry::Graph graph;
  if (options.graph == "mesh") {
    geometry::TetMesh m;
    m.points = points;
    m.tets = tets;
    graph = geometry::mesh_edge_graph(m);
  } else {
    graph = geometry::knn_graph(points, options.knn);
  }
  auto hierarchy = geometry::coarsen(graph, {options.levels, 4, options.graph_seed});
  g.levels = to(graph_levels(hierarchy, kernel_size, torch::kFloat64), device, dtype);
  auto nodes = scaled_points(points, g.scaling);
  g.nodes = nodes.to(device, dtype);
  auto mask = torch::empty({g.num_nodes}, torch::kBool);
  for (int i = 0; i < g.num_nodes; ++i) mask[i] = observed[i] != 0;
  g.observed = mask.to(device);
  if (tets.rows() > 0) {
    auto idx =
        torch::from_blob(const_cast<int*>(tets.data()), {tets.rows() * 4}, torch::kInt32).to(torch::kInt64);
    g.tet_points = nodes.index_select(0, idx).view({tets.rows(), 4, 3}).to(device, dtype);
  }
  return g;
}

torch::Tensor map_features(const Eigen::VectorXd& obs, const Eigen::VectorXi& observed,
                           const Scaling& scaling, double feature_time, double early_fraction) {
  const int n = int(obs.size());
  METAEIK_CHECK(observed.size() == n, "map has " << n << " values, the observation mask " << observed.size());
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; ++i)
    if (observed[i]) lo = std::min(lo, obs[i]), hi = std::max(hi, obs[i]);
  const double cut = lo + early_fraction * (hi - lo);
  auto f = torch::empty({n, 2}, torch::kFloat32);
  auto a = f.accessor<float, 2>();
  for (int i = 0; i < n; ++i) {
    const bool keep = observed[i] && std::isfinite(obs[i]) && (early_fraction >= 1.0 || obs[i] <= cut);
    a[i][0] = keep ? float(obs[i] / scaling.time / feature_time) : -1.0f;
    a[i][1] = keep ? 1.0f : 0.0f;
  }
  return f;
}

torch::Tensor random_tet_points(const PreparedGeometry& g, int64_t count, torch::Generator generator) {
  TORCH_CHECK(g.tet_points.defined(), "random_tet_points: geometry has no tets");
  auto opts = g.tet_points.options();
  auto tet = torch::randint(g.tet_points.size(0), {count}, generator, opts.dtype(torch::kInt64));
  // Uniform barycentric coordinates: normalised exponentials (Dirichlet(1,1,1,1)).
  auto e = -torch::log(torch::rand({count, 4}, generator, opts).clamp_min(1e-12));
  auto lambda = e / e.sum(1, true);
  return (g.tet_points.index_select(0, tet) * lambda.unsqueeze(2)).sum(1);
}

double max_training_time(const Corpus& corpus, const DataOptions& options) {
  double best = 0.0;
  std::vector<Scaling> scalings;
  for (const auto& g : corpus.geometries) scalings.push_back(scaling_of(g.points, options.speed_scale));
  for (const auto& m : corpus.maps) {
    if (m.split != "train") continue;
    const int gi = corpus.subjects[m.subject].geometry;
    const auto& obs = corpus.geometries[gi].observed;
    for (int i = 0; i < m.observation.size(); ++i)
      if (obs[i] && std::isfinite(m.observation[i]))
        best = std::max(best, m.observation[i] / scalings[gi].time);
  }
  return best > 0 ? best : 1.0;
}

void set_threads(int threads) {
  torch::set_num_threads(threads);
  core::set_blas_threads(threads);
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest (half its 64 MB heap on 64-bit systems)
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  });
#endif
}

}  // namespace metaeik::metapinn
