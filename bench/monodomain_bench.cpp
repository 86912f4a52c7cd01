// Monodomain throughput: cell-steps per second of each ionic model (1 and 2 threads), of the
// diffusion operators and of the SVI ionic-current correction on the Niederer Δx 0.2 mm grid. Table:
// bench/monodomain_table.sh.

#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>
#include <vector>

#include "monodomain/cell_model.hpp"
#include "monodomain/ionic_quadrature.hpp"
#include "monodomain/tissue.hpp"

namespace {

using namespace metaeik::monodomain;

/// Steps 65 536 cells in a spread of states (half of them mid-action-potential).
void cell_steps(benchmark::State& state, const std::string& model_name, bool table) {
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  auto model = model_name == "ttp06" ? make_cell_model("ttp06", "epi", {{"lookup_table", table}})
                                     : make_cell_model(model_name);
  const double dt = model_name == "ttp06" ? 0.02 : 0.01;
  const std::size_t n = 65536;
  CellStates s = model->make_states(n);
  // Excite half of the cells and let them evolve so that the states are realistic.
  std::vector<double> stim(n, 0.0);
  const double amp = model_name == "ttp06" ? 52.0 : model_name == "ms" ? 0.2 : 1.0;
  for (std::size_t c = 0; c < n / 2; ++c) stim[c] = amp;
  for (int k = 0; k < 100; ++k) model->step(s.data.data(), n, stim.data(), dt);
  std::fill(stim.begin(), stim.end(), 0.0);
  for (auto _ : state) {
    model->step(s.data.data(), n, stim.data(), dt);
    benchmark::DoNotOptimize(s.data.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.counters["threads"] = threads;
}

void BM_CellStep_FHN(benchmark::State& s) { cell_steps(s, "fhn", false); }
void BM_CellStep_MS(benchmark::State& s) { cell_steps(s, "ms", false); }
void BM_CellStep_TTP06(benchmark::State& s) { cell_steps(s, "ttp06", true); }
void BM_CellStep_TTP06_NoTable(benchmark::State& s) { cell_steps(s, "ttp06", false); }
BENCHMARK(BM_CellStep_FHN)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CellStep_MS)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CellStep_TTP06)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CellStep_TTP06_NoTable)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// One diffusion operator application on the Niederer Δx 0.2 mm grid (101 × 36 × 16 nodes).
void diffusion(benchmark::State& state, const std::string& scheme) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const Grid g{101, 36, 16, 0.2, 0.2, 0.2};
  TissueOptions o;
  o.d_long = 0.0953;
  o.d_trans = 0.01258;
  const auto D = diffusion_tensor(o);
  std::vector<double> v(g.size()), out(g.size());
  for (std::size_t c = 0; c < g.size(); ++c) v[c] = -85.0 + (c % 97);
  for (auto _ : state) {
    apply_diffusion(g, D, v.data(), out.data(), scheme);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(g.size()));
}
void BM_Diffusion_FD(benchmark::State& s) { diffusion(s, "fd"); }
void BM_Diffusion_FEM(benchmark::State& s) { diffusion(s, "fem"); }
BENCHMARK(BM_Diffusion_FD)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Diffusion_FEM)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// One SVI correction (fem-svi, ionic_quadrature.hpp) on the same grid, worst case: every element
/// evaluated (8 TTP06 current evaluations per element). Half of the slab is in an action potential.
void BM_SviCorrection(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const Grid g{101, 36, 16, 0.2, 0.2, 0.2};
  auto model = make_cell_model("ttp06", "epi");
  CellStates s = model->make_states(g.size());
  std::vector<double> stim(g.size(), 0.0);
  for (std::size_t c = 0; c < g.size(); ++c)
    if (c % g.nx < static_cast<std::size_t>(g.nx / 2)) stim[c] = 52.0;
  for (int k = 0; k < 100; ++k) model->step(s.data.data(), g.size(), stim.data(), 0.02);
  for (std::size_t c = 0; c < g.size(); ++c)
    s.at(0, c) += 1e-3 * static_cast<double>(c % 7);  // no uniform element
  IonicQuadrature quad(g);
  std::vector<double> r(g.size());
  for (auto _ : state) {
    quad.correction(s, *model, r.data());
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(g.size()));
  state.counters["elements"] = static_cast<double>(quad.evaluated_elements());
}
BENCHMARK(BM_SviCorrection)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
