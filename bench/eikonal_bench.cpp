// Eikonal solver benchmarks (Google Benchmark):
//  - one FIM solve on Kuhn-split cube meshes of about 10⁴, 10⁵ and 10⁶ tets, 1 and 2 threads;
//  - the fim-python reference case (side 50 mm, 41³ vertices, corner source, v = 0.6 mm/ms);
//  - Dijkstra on the same meshes (low-accuracy reference);
//  - batch throughput (solves per second) on the 2 000-node BiV (meshes/biv_2k.vtu; a ≈2 000-node
//    box mesh if that file is missing — the `batch_mesh` label says which);
//  - the adjoint (issue 13): a recorded solve and one vector–Jacobian product, against the plain solve,
//    on the 41³ cube and on the 2 000-node BiV.
// Counters: nodes, tets, max_err_ms (vs |x − x₀|/v), max_time_ms, ns_per_node, iterations.
// bench/eikonal_table.sh runs this and writes bench/results/eikonal.md.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "eikonal/dijkstra.hpp"
#include "eikonal/fim.hpp"
#include "geometry/structured.hpp"
#include "geometry/vtk_io.hpp"

namespace {

using namespace metaeik;
constexpr double kSide = 50.0, kSpeed = 0.6;

const geometry::TetMesh& cube(int cells) {
  static std::map<int, geometry::TetMesh> cache;
  auto it = cache.find(cells);
  if (it == cache.end()) it = cache.emplace(cells, geometry::cube_mesh(cells, kSide)).first;
  return it->second;
}

double max_error(const geometry::TetMesh& mesh, const Eigen::VectorXd& T, int source) {
  const Eigen::RowVector3d x0 = mesh.points.row(source);
  double err = 0.0;
  for (int i = 0; i < mesh.num_points(); ++i)
    err = std::max(err, std::abs(T[i] - (mesh.points.row(i) - x0).norm() / kSpeed));
  return err;
}

template <class Solver>
void solve_cube(benchmark::State& state) {
  const int cells = int(state.range(0));
  eikonal::FimOptions options;
  options.threads = int(state.range(1));
  const auto& mesh = cube(cells);
  const Solver solver(mesh, options);
  const auto speed = eikonal::SpeedField::uniform(mesh, kSpeed);
  const std::vector<eikonal::Source> sources = {{0, 0.0}};  // corner (0, 0, 0)
  eikonal::SolveResult result;
  for (auto _ : state) {
    result = solver.solve(speed, sources);
    benchmark::DoNotOptimize(result.times.data());
  }
  state.counters["nodes"] = mesh.num_points();
  state.counters["tets"] = mesh.num_tets();
  state.counters["threads"] = options.threads;
  state.counters["max_err_ms"] = max_error(mesh, result.times, 0);
  state.counters["max_time_ms"] = result.times.maxCoeff();
  state.counters["iterations"] = result.stats.iterations;
  state.counters["node_updates"] = double(result.stats.node_updates);
  state.counters["local_solves"] = double(result.stats.local_updates);
  state.counters["converged"] = result.stats.converged;
  state.counters["ns_per_node"] =
      benchmark::Counter(double(mesh.num_points()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// cells per axis: 12 → 10 368 tets, 26 → 105 456 tets, 55 → 998 250 tets; 40 = the 41³ reference.
void cube_args(benchmark::internal::Benchmark* b) {
  for (int cells : {12, 26, 40, 55})
    for (int threads : {1, 2}) b->Args({cells, threads});
}

void BM_FimCube(benchmark::State& state) { solve_cube<eikonal::FimSolver>(state); }
BENCHMARK(BM_FimCube)->Apply(cube_args)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// Centre source on the cube of side 50 mm with 61³ vertices (1.296 M tets), Kuhn (0) and mirrored (1)
// splits, default options (exact start ball, 1) and plain point sources (source_radius 0, 0): max
// error as a percentage of the largest arrival time.
void BM_FimCentre61(benchmark::State& state) {
  const auto split = state.range(0) == 0 ? geometry::BoxSplit::kKuhn : geometry::BoxSplit::kMirrored;
  const auto mesh = geometry::cube_mesh(60, kSide, split);
  eikonal::FimOptions options;
  options.threads = 1;
  if (state.range(1) == 0) options.source_radius = 0.0;
  const eikonal::FimSolver solver(mesh, options);
  const int src = geometry::box_point_index(30, 30, 30, 60, 60);
  eikonal::SolveResult result;
  for (auto _ : state) result = solver.solve(eikonal::SpeedField::uniform(mesh, kSpeed), {{src, 0.0}});
  state.SetLabel(
      std::string(state.range(0) == 0 ? "Kuhn" : "mirrored") +
      (state.range(1) == 0 ? ", plain point source (source_radius 0)" : ", default (source_radius 5)"));
  state.counters["nodes"] = mesh.num_points();
  state.counters["tets"] = mesh.num_tets();
  state.counters["max_err_ms"] = max_error(mesh, result.times, src);
  state.counters["max_time_ms"] = result.times.maxCoeff();
}
BENCHMARK(BM_FimCentre61)
    ->Args({0, 1})
    ->Args({0, 0})
    ->Args({1, 1})
    ->Args({1, 0})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_DijkstraCube(benchmark::State& state) { solve_cube<eikonal::DijkstraSolver>(state); }
BENCHMARK(BM_DijkstraCube)->Args({40, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- batch on the 2 000-node BiV -------------------------------------------------------------------

struct BatchMesh {
  geometry::TetMesh mesh;
  bool biv = false;
  std::string name;
};

/// meshes/biv_2k.vtu, or the file named by $METAEIK_BATCH_MESH, else a 13³-node cube.
const BatchMesh& batch_mesh() {
  static const BatchMesh m = [] {
    BatchMesh b;
    std::filesystem::path path = std::filesystem::path(METAEIK_SOURCE_DIR) / "meshes" / "biv_2k.vtu";
    if (const char* env = std::getenv("METAEIK_BATCH_MESH")) path = env;
    if (std::filesystem::exists(path)) {
      b.mesh = geometry::read_mesh(path);
      b.biv = true;
      b.name = path.filename().string();
    } else {
      b.mesh = geometry::cube_mesh(12, 20.0);  // 2 197 nodes
      b.name = "fallback 13^3-node cube (no BiV mesh file)";
    }
    return b;
  }();
  return m;
}

void BM_FimBatch(benchmark::State& state) {
  const BatchMesh& bm = batch_mesh();
  const auto& mesh = bm.mesh;
  eikonal::FimOptions options;
  options.threads = int(state.range(0));
  const eikonal::FimSolver solver(mesh, options);
  // Two speed fields (healthy 0.6 mm/ms; a slow 0.1 mm/ms region in one third of the nodes) and
  // 64 random single-node origins.
  std::vector<eikonal::SpeedField> speeds = {eikonal::SpeedField::uniform(mesh, 0.6),
                                             eikonal::SpeedField::uniform(mesh, 0.6)};
  const double x_cut =
      mesh.points.col(0).minCoeff() + (mesh.points.col(0).maxCoeff() - mesh.points.col(0).minCoeff()) / 3;
  for (int i = 0; i < mesh.num_points(); ++i)
    if (mesh.points(i, 0) < x_cut) speeds[1].speed[i] = 0.1;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> node(0, mesh.num_points() - 1);
  std::vector<eikonal::BatchItem> items;
  for (int i = 0; i < 64; ++i) items.push_back({i % 2, {{node(rng), 0.0}}});
  long long updates = 0;
  for (auto _ : state) {
    const auto results = solver.solve_batch(speeds, items);
    for (const auto& r : results) updates += r.stats.node_updates;
    benchmark::DoNotOptimize(results.data());
  }
  state.SetItemsProcessed(state.iterations() * int64_t(items.size()));
  state.SetLabel(bm.name);
  state.counters["nodes"] = mesh.num_points();
  state.counters["tets"] = mesh.num_tets();
  state.counters["threads"] = options.threads;
  state.counters["biv"] = bm.biv;
  state.counters["node_updates_per_node"] =
      double(updates) / (double(state.iterations()) * items.size() * mesh.num_points());
}
BENCHMARK(BM_FimBatch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// ---- adjoint (FimSolver::vjp) ---------------------------------------------------------------------
// range(0): 0 = the 41³ cube (corner source, v = 0.6), 1 = the batch BiV (a smooth heterogeneous field,
// one source); range(1): 0 = plain solve, 1 = recorded solve, 2 = vjp of a recorded solve (dL/dT = 1).
// One thread, so the ratio is work, not parallel efficiency.
void BM_FimAdjoint(benchmark::State& state) {
  const bool biv = state.range(0) == 1;
  const auto& mesh = biv ? batch_mesh().mesh : cube(40);
  eikonal::FimOptions options;
  options.threads = 1;
  const eikonal::FimSolver solver(mesh, options);
  eikonal::SpeedField speed = eikonal::SpeedField::uniform(mesh, kSpeed);
  if (biv)
    for (int i = 0; i < mesh.num_points(); ++i)
      speed.speed[i] *= 1.0 + 0.5 * std::sin(0.2 * mesh.points(i, 0));
  const std::vector<eikonal::Source> sources = {{0, 0.0}};
  const Eigen::VectorXd dL_dT = Eigen::VectorXd::Ones(mesh.num_points());
  eikonal::SolveRecord record;
  solver.solve(speed, sources, record);
  for (auto _ : state) {
    switch (state.range(1)) {
      case 0:
        benchmark::DoNotOptimize(solver.solve(speed, sources).times.data());
        break;
      case 1: {
        eikonal::SolveRecord r;
        benchmark::DoNotOptimize(solver.solve(speed, sources, r).times.data());
        break;
      }
      default:
        benchmark::DoNotOptimize(solver.vjp(record, dL_dT).speed.data());
        break;
    }
  }
  static const char* kWhat[] = {"solve", "recorded solve", "vjp"};
  state.SetLabel(std::string(biv ? batch_mesh().name : "cube 41^3") + ", " + kWhat[state.range(1)]);
  state.counters["nodes"] = mesh.num_points();
  state.counters["tets"] = mesh.num_tets();
}
BENCHMARK(BM_FimAdjoint)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

// Extra flag (before the Google Benchmark ones): --write_cube=CELLS:PATH writes the Kuhn-split cube
// of side 50 mm with CELLS cells per axis to PATH and exits (for timing the CLI on the same mesh).
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--write_cube=", 13) == 0) {
      const std::string arg = argv[i] + 13;
      const auto colon = arg.find(':');
      geometry::write_mesh(geometry::cube_mesh(std::stoi(arg.substr(0, colon)), kSide),
                           arg.substr(colon + 1));
      return 0;
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
