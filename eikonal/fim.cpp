#include "eikonal/fim.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <limits>
#include <thread>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <omp.h>

#include "core/error.hpp"
#include "eikonal/fim_record.hpp"
#include "eikonal/local_update.hpp"
#include "eikonal/node_update.hpp"
#include "eikonal/source_ball.hpp"
#include "eikonal/topology.hpp"

namespace metaeik::eikonal {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Below this many mesh nodes a solve runs on one thread (results are identical either way).
constexpr int kParallelMinNodes = 8192;
/// Automatic band width as a fraction of the mean shortest-edge travel time of the tets.
constexpr double kAutoBand = 0.25;

/// Barrier of the parallel sweeps: spins briefly (two dedicated cores meet within microseconds), then
/// sleeps on a futex (on a loaded machine a spinning thread would take the core its partner needs).
/// Independent of OMP_WAIT_POLICY, whose default spins for long (2 threads on the loaded 2-core
/// machine: 10-30× slower than 1) and whose passive mode sleeps at once. The release/acquire pair on
/// `generation_` publishes every write made before the barrier.
class SweepBarrier {
 public:
  /// Spins only while there is a core per thread (else the awaited thread may need this one).
  explicit SweepBarrier(int threads)
      : threads_(threads), spins_(threads <= omp_get_num_procs() ? kSpins : 0) {}
  void wait() {
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(
          1);  // seq_cst with the sleepers_ pair below: a sleeper is seen or sees the change
      if (sleepers_.load() > 0) wake();
      return;
    }
    for (int spin = 0; spin < spins_; ++spin) {
      if (generation_.load(std::memory_order_acquire) != generation) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    sleepers_.fetch_add(1);
    while (generation_.load() == generation) sleep(generation);
    sleepers_.fetch_sub(1);
  }

 private:
  static constexpr int kSpins = 800;  ///< about 20 µs (a pause is ≈ 26 ns on the 2-core test machine)
#ifdef __linux__
  // Sleeps only while the generation is still `generation` (no lost wake-up).
  void sleep(int generation) {
    syscall(SYS_futex, reinterpret_cast<int*>(&generation_), FUTEX_WAIT_PRIVATE, generation, nullptr, nullptr,
            0);
  }
  void wake() {
    syscall(SYS_futex, reinterpret_cast<int*>(&generation_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr,
            0);
  }
#else
  void sleep(int) { std::this_thread::yield(); }
  void wake() {}
#endif
  const int threads_, spins_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> generation_{0};
  std::atomic<int> sleepers_{0};
};

/// One thread's share of a sweep. Padded so that threads do not share cache lines.
struct alignas(64) PerThread {
  std::vector<int> keep[2];  ///< this thread's part of the active list (current and next sweep)
  std::vector<int> converged, candidates;
  std::vector<double> candidate_times;
  std::vector<detail::Parent> candidate_parents;  ///< recorded solves only
  double tmin = kInf;                             ///< min T over keep[next]
  long long evals = 0, node_updates = 0;
};

/// Reusable working memory of one solve.
struct Workspace {
  std::vector<unsigned char> in_list, queued;
  std::vector<int> changed_at, solved_at;
  std::vector<double> next_times;
  std::vector<detail::Parent> next_parents;  ///< recorded solves only
  std::vector<PerThread> per_thread;
  detail::BallWork ball;
  std::vector<int> seeded;
};

// Only active nodes with T ≤ min(active T) + band are updated in a sweep (the others wait in the
// list), so the front is not computed far ahead of its final values and then corrected over and
// over; band = 0 updates the whole list (plain FIM). The converged solution does not depend on it.
//
// Sweep k has two phases separated by barriers, so a parallel sweep costs two synchronisations:
//   P (reads the times only): Jacobi update of the active nodes within the band from the times after
//     sweep k−1, and solves of the candidates: neighbours of the nodes that converged in sweep k−1
//     that are later than them, not in the list and stale (each once);
//   Q (each thread writes only the nodes it owns): apply the active updates (a node whose time changed
//     by ≤ tol converges and leaves the list) and the candidates (improved ones join the list).
// The active list is the concatenation of the threads' keep lists (never merged); the band's minimum
// is reduced from the threads' minima. Times written in Q_k are stamped changed_at = k, solves in P_k
// record solved_at = k − 1 (they saw every change up to it). A node only needs a new solve if one of
// its neighbours changed after its last solve (changed_at > solved_at); otherwise its value would come
// out the same. Every value depends only on the times after the previous sweep, so the result is
// bit-identical for any thread count (the list order changes, no value does).
// A recorded solve (kRecord) also writes, per node, what gave its current time (`parent`, #P internal
// order: a tet entry and candidate, a source, a start ball) whenever the time is lowered, and the
// balls' λ (`balls`); the times are the same as without recording.
template <bool kRecord>
SolveResult run_fim(const detail::Topology& topo, const detail::TetMetric& metric,
                    const std::vector<Source>& mesh_sources, const FimOptions& options, int threads,
                    Workspace& ws, detail::Parent* parent = nullptr,
                    std::vector<detail::BallInfo>* balls = nullptr) {
  const std::vector<Source> sources = detail::internal_sources(topo, mesh_sources);
  const int n = topo.num_points;
  const detail::NodeContext c{topo.tet_offsets.data(),  topo.tet_entries.data(),    topo.entry_height.data(),
                              topo.node_offsets.data(), topo.node_neighbors.data(), metric.tets,
                              metric.slowness.data(),   metric.height_scale};
  SolveResult result;
  result.times = Eigen::VectorXd::Constant(n, kInf);
  double* T = result.times.data();
  const bool parallel = threads > 1 && n >= kParallelMinNodes;
  const int nt = parallel ? threads : 1;
  ws.in_list.assign(n, 0);
  ws.queued.assign(n, 0);
  ws.changed_at.assign(n, -1);
  ws.solved_at.assign(n, -1);
  ws.next_times.resize(n);
  if constexpr (kRecord) ws.next_parents.resize(n);
  ws.per_thread.resize(std::max<size_t>(ws.per_thread.size(), size_t(nt)));
  for (auto& p : ws.per_thread) {
    p.keep[0].clear();
    p.keep[1].clear();
    p.converged.clear();
    p.candidates.clear();
    p.candidate_parents.clear();
    p.tmin = kInf;
    p.evals = p.node_updates = 0;
  }
  std::vector<int>& initial = ws.per_thread[0].keep[0];
  for (size_t j = 0; j < sources.size(); ++j) {
    const Source& s = sources[j];
    if (s.time < T[s.node]) {
      T[s.node] = s.time;
      if constexpr (kRecord) parent[s.node] = detail::Parent{int(j), detail::Candidate::kSource};
    }
    ws.changed_at[s.node] = 0;
  }
  for (const Source& s : sources)
    if (!ws.in_list[s.node]) {
      ws.in_list[s.node] = 1;
      initial.push_back(s.node);
    }
  if (options.source_radius > 0) {
    ws.seeded.clear();
    detail::seed_source_balls(topo, metric, sources, options.source_radius, T, ws.ball, ws.seeded, parent,
                              balls);
    for (const int y : ws.seeded)
      if (!ws.in_list[y]) {  // seeded nodes start like sources
        ws.in_list[y] = 1;
        ws.changed_at[y] = 0;
        initial.push_back(y);
      }
  }
  for (const int x : initial) ws.per_thread[0].tmin = std::min(ws.per_thread[0].tmin, T[x]);

  const double tol = options.tolerance;
  unsigned char* in_list = ws.in_list.data();
  unsigned char* queued = ws.queued.data();
  int* changed_at = ws.changed_at.data();
  int* solved_at = ws.solved_at.data();
  double* next = ws.next_times.data();
  detail::Parent* next_parent = kRecord ? ws.next_parents.data() : nullptr;
  PerThread* per = ws.per_thread.data();
  // True if a neighbour of x changed after x was last solved.
  auto stale = [&](int x) {
    const int seen = solved_at[x];
    for (int e = c.node_offsets[x]; e < c.node_offsets[x + 1]; ++e)
      if (changed_at[c.node_neighbors[e]] > seen) return true;
    return false;
  };

  const double band = options.band >= 0 ? options.band : kAutoBand * metric.mean_edge_time;
  int final_iterations = 0;
  bool final_converged = false;
  SweepBarrier barrier(nt);

  // The sweep loop, run by each of `nt` threads (tid 0 alone when serial). `cur` selects the keep
  // buffers of the current list. Everything a thread decides on (loop exit, band, list offsets) it
  // computes from data that all threads see identically after the barrier.
  auto sweeps = [&](int tid, bool parallel) {
    PerThread& P = per[tid];
    int cur = 0, iterations = 0;
    std::vector<int> offsets(nt + 1), conv_offsets(nt + 1);
    for (;;) {
      offsets[0] = conv_offsets[0] = 0;
      double tmin = kInf;
      for (int t = 0; t < nt; ++t) {
        offsets[t + 1] = offsets[t] + int(per[t].keep[cur].size());
        conv_offsets[t + 1] = conv_offsets[t] + int(per[t].converged.size());
        tmin = std::min(tmin, per[t].tmin);
      }
      const int na = offsets[nt], pending = conv_offsets[nt];
      if (na + pending == 0 || iterations >= options.max_iterations) {
        if (tid == 0) {
          final_iterations = iterations;
          final_converged = na + pending == 0;
        }
        return;
      }
      ++iterations;
      const int stamp = iterations;
      const double theta = band > 0 ? tmin + band : kInf;
      auto node_at = [&](int i) {
        int t = 0;
        while (i >= offsets[t + 1]) ++t;
        return per[t].keep[cur][i - offsets[t]];
      };
      // ---- P: reads times only.
      auto update_active = [&](int i) {
        const int x = node_at(i);
        if (T[x] <= theta && stale(x)) {
          next[i] = detail::node_update<kRecord>(c, x, T, changed_at, solved_at[x], P.evals, next_parent + i);
          solved_at[x] = stamp - 1;
          ++P.node_updates;
        } else {
          next[i] = T[x];
        }
      };
      if (parallel) {
#pragma omp for schedule(dynamic, 32) nowait
        for (int i = 0; i < na; ++i) update_active(i);
      } else {
        for (int i = 0; i < na; ++i) update_active(i);
      }
      // Candidates: the converged nodes of all threads are shared out dynamically too (the candidate
      // solves are about half the work); a candidate goes to whichever thread claims it first.
      P.candidates.clear();
      P.candidate_times.clear();
      if constexpr (kRecord) P.candidate_parents.clear();
      auto gather_and_solve = [&](int i) {
        int t = 0;
        while (i >= conv_offsets[t + 1]) ++t;
        const int x = per[t].converged[i - conv_offsets[t]];
        const double tx = T[x];
        for (int e = c.node_offsets[x]; e < c.node_offsets[x + 1]; ++e) {
          const int y = c.node_neighbors[e];
          if (!in_list[y] && T[y] > tx && stale(y) && !__atomic_exchange_n(&queued[y], 1, __ATOMIC_RELAXED)) {
            P.candidates.push_back(y);
            detail::Parent py;
            P.candidate_times.push_back(
                detail::node_update<kRecord>(c, y, T, changed_at, solved_at[y], P.evals, &py));
            if constexpr (kRecord) P.candidate_parents.push_back(py);
          }
        }
      };
      if (parallel) {
#pragma omp for schedule(dynamic, 8) nowait
        for (int i = 0; i < pending; ++i) gather_and_solve(i);
      } else {
        for (int i = 0; i < pending; ++i) gather_and_solve(i);
      }
      P.node_updates += P.candidates.size();
      if (parallel) barrier.wait();
      // ---- Q: each thread writes the nodes it owns.
      std::vector<int>& keep = P.keep[1 - cur];
      keep.clear();
      P.converged.clear();  // safe: every thread has read the converged lists before the barrier
      P.tmin = kInf;
      auto apply_active = [&](int i) {
        const int x = node_at(i);
        const double change = T[x] <= theta ? T[x] - next[i] : kInf;
        if (change > 0 && change < kInf) {
          T[x] = next[i];
          changed_at[x] = stamp;
          if constexpr (kRecord) parent[x] = next_parent[i];
        }
        if (change <= tol) {
          in_list[x] = 0;
          P.converged.push_back(x);
        } else {
          keep.push_back(x);
          P.tmin = std::min(P.tmin, T[x]);
        }
      };
      if (parallel) {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < na; ++i) apply_active(i);
      } else {
        for (int i = 0; i < na; ++i) apply_active(i);
      }
      for (size_t j = 0; j < P.candidates.size(); ++j) {
        const int y = P.candidates[j];
        queued[y] = 0;
        solved_at[y] = stamp - 1;  // written here, not in P: P of other threads reads it
        if (P.candidate_times[j] < T[y]) {
          T[y] = P.candidate_times[j];
          changed_at[y] = stamp;
          if constexpr (kRecord) parent[y] = P.candidate_parents[j];
          in_list[y] = 1;
          keep.push_back(y);
          P.tmin = std::min(P.tmin, T[y]);
        }
      }
      cur = 1 - cur;
      if (parallel) barrier.wait();
    }
  };
  if (parallel) {
#pragma omp parallel num_threads(nt)
    {
      // OpenMP may give a smaller team (nested region, thread limit): then thread 0 sweeps alone (the
      // other threads' lists stay empty), with the same result.
      if (omp_get_num_threads() == nt)
        sweeps(omp_get_thread_num(), true);
      else if (omp_get_thread_num() == 0)
        sweeps(0, false);
    }
  } else {  // no OpenMP construct at all: safe inside solve_batch's threads
    sweeps(0, false);
  }
  result.times = detail::external_times(topo, result.times);
  result.stats.iterations = final_iterations;
  result.stats.converged = final_converged;
  for (int t = 0; t < nt; ++t) {
    result.stats.local_updates += per[t].evals;
    result.stats.node_updates += per[t].node_updates;
  }
  return result;
}

}  // namespace

SpeedField SpeedField::uniform(const geometry::TetMesh& mesh, double v) {
  SpeedField f;
  f.location = Location::kNode;
  f.speed = Eigen::VectorXd::Constant(mesh.num_points(), v);
  return f;
}

FimSolver::FimSolver(const geometry::TetMesh& mesh, FimOptions options)
    : impl_(std::make_unique<Impl>(mesh, options)) {}

FimSolver::~FimSolver() = default;
FimSolver::FimSolver(FimSolver&&) noexcept = default;

const FimOptions& FimSolver::options() const { return impl_->options; }

SolveResult FimSolver::solve(const SpeedField& speed, const std::vector<Source>& sources) const {
  detail::check_sources(impl_->topo, sources);
  const detail::TetMetric metric = detail::build_metric(impl_->topo, speed);
  Workspace ws;
  return run_fim<false>(impl_->topo, metric, sources, impl_->options,
                        detail::resolve_threads(impl_->options.threads), ws);
}

SolveResult FimSolver::solve(const SpeedField& speed, const std::vector<Source>& sources,
                             SolveRecord& record) const {
  detail::check_sources(impl_->topo, sources);
  auto data = std::make_unique<SolveRecord::Data>();
  data->metric = detail::build_metric(impl_->topo, speed);
  data->owner = impl_.get();
  data->speed = speed;
  data->sources = sources;
  data->parents.assign(impl_->topo.num_points, detail::Parent{});
  Workspace ws;
  SolveResult result =
      run_fim<true>(impl_->topo, data->metric, sources, impl_->options,
                    detail::resolve_threads(impl_->options.threads), ws, data->parents.data(), &data->balls);
  data->times.resize(impl_->topo.num_points);
  for (int i = 0; i < impl_->topo.num_points; ++i) data->times[i] = result.times[impl_->topo.node_order[i]];
  data->stats = result.stats;
  record.data_ = std::move(data);
  return result;
}

std::vector<SolveResult> FimSolver::solve_batch(const std::vector<SpeedField>& speeds,
                                                const std::vector<BatchItem>& items) const {
  return detail::solve_batch<Workspace>(
      *impl_, speeds, items,
      [&](const detail::TetMetric& metric, const std::vector<Source>& sources, Workspace& ws) {
        return run_fim<false>(impl_->topo, metric, sources, impl_->options, 1, ws);
      });
}

SolveResult solve(const geometry::TetMesh& mesh, const SpeedField& speed, const std::vector<Source>& sources,
                  FimOptions options) {
  return FimSolver(mesh, options).solve(speed, sources);
}

}  // namespace metaeik::eikonal
