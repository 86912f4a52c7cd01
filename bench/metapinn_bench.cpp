// Meta-PINN timings (docs/DESIGN.md, Published numbers; paper: ~3 s per training episode on an RTX 3090):
//  - one training episode = one subject: k context maps + its query maps, forward + backward
//    (data loss + PDE loss with ∇ₓT by forward-mode differentiation) + AdamW step;
//  - personalisation latency: one feed-forward pass (encoders, hypernetworks, T and F on every
//    node; the residual is a metric and not timed).
// On a generated 2 000-node BiV with FIM activation maps (or a dataset's first subject).
//
//   metapinn_bench [--config configs/train/quick.json] [--threads 2] [--reps 10] [-o
//   bench/results/metapinn.md]

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/fs.hpp"
#include "core/random.hpp"
#include "core/timer.hpp"
#include "eikonal/fim.hpp"
#include "geometry/generate.hpp"
#include "metapinn/personalize.hpp"
#include "metapinn/trainer.hpp"

using namespace metaeik;

namespace {

struct Stats {
  double median = 0, min = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front()};
}

/// CPU time of the process (all threads), s: on a shared machine the time we ran, not waited.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

/// Runs `f` under the torch autograd profiler (legacy CPU profiler of LibTorch 1.13) and returns a
/// Markdown table of the `top` operations by self CPU time (time in an operation less the time in
/// the operations it called), summed over calls.
template <typename F>
std::string profile_table(F&& f, int top) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  f();
  const auto lists = disableProfilerLegacy();
  struct Row {
    double self_us = 0, total_us = 0;
    long calls = 0;
  };
  std::map<std::string, Row> rows;
  double all_us = 0;
  for (const auto& list : lists) {
    struct Open {
      const LegacyEvent* push;
      double child_us;
    };
    std::vector<Open> stack;
    for (const auto& ev : list) {
      if (ev.kindStr() == "push") {
        stack.push_back({&ev, 0.0});
      } else if (ev.kindStr() == "pop" && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double total = open.push->cpuElapsedUs(ev);
        auto& row = rows[open.push->name()];
        row.self_us += total - open.child_us;
        row.total_us += total;
        ++row.calls;
        if (stack.empty())
          all_us += total;
        else
          stack.back().child_us += total;
      }
    }
  }
  std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  std::string table =
      "| operation | self CPU | share | calls | total CPU (with callees) |\n|---|---|---|---|---|\n";
  char line[512];
  for (int i = 0; i < std::min<int>(top, int(sorted.size())); ++i) {
    const auto& [name, r] = sorted[i];
    std::snprintf(line, sizeof line, "| `%s` | %.2f ms | %.1f %% | %ld | %.2f ms |\n", name.c_str(),
                  1e-3 * r.self_us, 100.0 * r.self_us / std::max(all_us, 1e-9), r.calls, 1e-3 * r.total_us);
    table += line;
  }
  std::snprintf(line, sizeof line, "| all operations (top level) | %.2f ms | 100 %% | | |\n", 1e-3 * all_us);
  return table + line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = std::string(METAEIK_SOURCE_DIR) + "/configs/train/quick.json";
  std::string output = std::string(METAEIK_SOURCE_DIR) + "/bench/results/metapinn.md";
  int threads = 2, reps = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--config")
      config_path = argv[i + 1];
    else if (a == "--threads")
      threads = std::stoi(argv[i + 1]);
    else if (a == "--reps")
      reps = std::stoi(argv[i + 1]);
    else if (a == "-o")
      output = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  double load[3] = {0, 0, 0};  // the machine's load when the bench starts (it is shared)
  if (getloadavg(load, 3) != 3) load[0] = load[1] = load[2] = -1;
  try {
    metapinn::set_threads(threads);
    auto config = metapinn::load_train_config(config_path);
    const auto& t = config.train;

    // Geometry and one subject: uniform 0.6 mm/ms with a slow AHA 1,2,7,8 scar, FIM maps.
    geometry::GeneratorOptions gen;
    gen.shape = "biv";
    gen.target_nodes = 2000;
    auto mesh = geometry::generate_ventricle(gen);
    const int n = mesh.num_points();
    auto surface = mesh.point_labels("surface");
    auto aha = mesh.point_labels("aha");
    Eigen::VectorXi observed(n);
    Eigen::VectorXd speed(n);
    for (int i = 0; i < n; ++i) {
      observed[i] = (surface[i] == 1 || surface[i] == 2) ? 1 : 0;
      speed[i] = (aha[i] == 1 || aha[i] == 2 || aha[i] == 7 || aha[i] == 8) ? 0.1 : 0.6;
    }
    eikonal::SpeedField field;
    field.speed = speed;
    eikonal::FimSolver solver(mesh);
    metapinn::Corpus corpus;
    corpus.geometries.push_back({"biv", mesh.points, mesh.tets, observed});
    corpus.subjects.push_back({0, 0, "bench", speed});
    auto rng = core::make_rng(5);
    const int maps = t.k + std::max(1, t.queries) + 1;
    for (int m = 0; m < maps; ++m) {
      int src = int(rng() % n);
      while (speed[src] < 0.5) src = int(rng() % n);
      auto r = solver.solve(field, {{src, 0.0}});
      corpus.maps.push_back({0, m, m + 1 < maps ? "train" : "test", r.times, r.times});
    }
    config.data.feature_time = metapinn::max_training_time(corpus, config.data);

    const torch::Device device = torch::kCPU;
    auto g = metapinn::prepare_geometry(mesh.points, mesh.tets, observed, config.data,
                                        int(config.model.kernel_size), device);
    torch::manual_seed(1);  // the same initial weights in every run
    metapinn::MetaPinn model(config.model, config.data.speed_scale);
    torch::optim::AdamW opt(model->parameters(),
                            torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
    std::vector<torch::Tensor> ctx, qf, qt;
    const int nq = t.queries > 0 ? t.queries : maps - 1 - t.k;
    for (int i = 0; i < t.k; ++i)
      ctx.push_back(metapinn::map_features(corpus.maps[i].observation, observed, g.scaling,
                                           config.data.feature_time, 1.0));
    for (int i = 0; i < nq; ++i) {
      const auto& m = corpus.maps[t.k + i];
      qf.push_back(metapinn::map_features(m.observation, observed, g.scaling, config.data.feature_time,
                                          config.data.early_fraction));
      qt.push_back(torch::from_blob(const_cast<double*>(m.observation.data()), {n}, torch::kFloat64)
                       .to(torch::kFloat32) /
                   float(g.scaling.time));
    }
    metapinn::EpisodeInput in;
    in.levels = &g.levels;
    in.context = torch::stack(ctx);
    in.query_features = torch::stack(qf);
    in.query_times = torch::stack(qt);
    in.observed = g.observed;
    in.nodes = g.nodes;
    auto gen_t = at::make_generator<at::CPUGeneratorImpl>(1);
    auto run_episode = [&] {
      if (t.residual_points > 0) in.extra_points = metapinn::random_tet_points(g, t.residual_points, gen_t);
      auto out = model->run(in, true);
      auto loss = out.data_loss + out.pde_loss;
      opt.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
    };
    std::vector<double> episode, episode_cpu;
    for (int r = 0; r < reps + 2; ++r) {
      core::Stopwatch w;
      const double cpu0 = cpu_seconds();
      run_episode();
      if (r >= 2) episode.push_back(w.seconds()), episode_cpu.push_back(cpu_seconds() - cpu0);
    }
    // One more episode under the profiler (not timed: the profiler adds its own overhead).
    const std::string profile = profile_table(run_episode, 15);
    // Where the episode time goes: the encoder (k maps) forward, and forward + backward.
    std::vector<double> enc_fwd, enc_bwd;
    for (int r = 0; r < reps + 1; ++r) {
      core::Stopwatch w;
      auto z = model->context_embedding(in.context, g.levels, g.nodes);
      const double f = w.seconds();
      z.sum().backward();
      if (r >= 1) enc_fwd.push_back(f), enc_bwd.push_back(w.seconds());
    }
    metapinn::LoadedModel lm;
    lm.config = config;
    lm.model = model;
    lm.model->eval();
    std::vector<Eigen::VectorXd> contexts;
    for (int i = 0; i < t.k; ++i) contexts.push_back(corpus.maps[i].observation);
    std::vector<double> latency, latency_cpu, context_pass, query_pass;
    double first_pass = 0;  // the encoders' per-edge weights are made here (once per geometry)
    for (int r = 0; r < 5 * reps + 2; ++r) {
      const double cpu0 = cpu_seconds();
      auto p = metapinn::personalize(lm, g, contexts, corpus.maps.back().observation, observed);
      const double cpu = cpu_seconds() - cpu0;  // includes the untimed residual (about 0.5 ms)
      if (r == 0) first_pass = p.forward_seconds;
      const auto c = metapinn::context_pass(lm, g, contexts, observed);
      const auto q = metapinn::personalize(lm, g, c, corpus.maps.back().observation, observed);
      if (r >= 2) {
        latency.push_back(p.forward_seconds);
        latency_cpu.push_back(cpu);
        context_pass.push_back(c.seconds);
        query_pass.push_back(q.forward_seconds);
      }
    }
    core::Stopwatch prep;
    metapinn::prepare_geometry(mesh.points, mesh.tets, observed, config.data, int(config.model.kernel_size),
                               device);
    const double prep_s = prep.seconds();
    std::string level_sizes;  // nodes / edges per level
    for (const auto& l : g.levels)
      level_sizes += (level_sizes.empty() ? "" : ", ") + std::to_string(l.basis.num_nodes) + " / " +
                     std::to_string(l.basis.source.size(0));
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();

    const auto e = stats(episode), l = stats(latency);
    char buf[8192];
    std::snprintf(
        buf, sizeof buf,
        "# meta-PINN timings\n\n"
        "Generated by `bench/metapinn_bench` (config `%s`, %d torch threads, CPU, %u hardware threads "
        "on this machine; load average %.2f, %.2f, %.2f at the start).\n"
        "BiV mesh: %d nodes, %d tets; graph `%s`, %zu levels (nodes / edges: %s); %lld trainable "
        "parameters.\n\n"
        "| measurement | median | min | reps |\n|---|---|---|---|\n"
        "| training episode: k = %d contexts + %d queries, forward + backward + AdamW step | %.1f ms | %.1f "
        "ms | %zu |\n"
        "| the same, CPU time of the process | %.1f ms | %.1f ms | %zu |\n"
        "| personalisation (one feed-forward pass: AT and velocity on all nodes) | %.1f ms | %.1f ms | %zu "
        "|\n"
        "| the same, CPU time of the process (with the untimed residual, ~0.5 ms) | %.1f ms | %.1f ms | %zu "
        "|\n"
        "| of which the context pass (velocity encoder on the k maps, F on the nodes; once per subject) | "
        "%.1f ms | %.1f ms | %zu |\n"
        "| of which the query pass (source encoder, PINN hypernetwork, T on the nodes; the residual is a "
        "metric, not timed) | %.1f ms | %.1f ms | %zu |\n"
        "| velocity encoder on the k context maps, forward | %.1f ms | %.1f ms | %zu |\n"
        "| velocity encoder on the k context maps, forward + backward | %.1f ms | %.1f ms | %zu |\n"
        "| geometry preparation (graph, 6-level coarsening, spline bases; once per geometry) | %.1f ms | | 1 "
        "|\n"
        "| first personalisation on a geometry (also makes the encoders' per-edge weights) | %.1f ms | | 1 "
        "|\n\n"
        "Paper (RTX 3090): ~3 s per training episode.\n\n"
        "Torch profiler, one training episode after the timed ones (legacy CPU profiler; its own "
        "overhead included), top 15 operations by self CPU time:\n\n%s",
        config_path.substr(config_path.find_last_of('/') + 1).c_str(), threads,
        std::thread::hardware_concurrency(), load[0], load[1], load[2], n, mesh.num_tets(),
        config.data.graph.c_str(), g.levels.size(), level_sizes.c_str(), (long long)params, t.k, nq,
        1e3 * e.median, 1e3 * e.min, episode.size(), 1e3 * stats(episode_cpu).median,
        1e3 * stats(episode_cpu).min, episode_cpu.size(), 1e3 * l.median, 1e3 * l.min, latency.size(),
        1e3 * stats(latency_cpu).median, 1e3 * stats(latency_cpu).min, latency_cpu.size(),
        1e3 * stats(context_pass).median, 1e3 * stats(context_pass).min, context_pass.size(),
        1e3 * stats(query_pass).median, 1e3 * stats(query_pass).min, query_pass.size(),
        1e3 * stats(enc_fwd).median, 1e3 * stats(enc_fwd).min, enc_fwd.size(), 1e3 * stats(enc_bwd).median,
        1e3 * stats(enc_bwd).min, enc_bwd.size(), 1e3 * prep_s, 1e3 * first_pass, profile.c_str());
    // Replace only the timing section (everything before the first "## " heading): the page's
    // accuracy sections below it are written by hand from training runs.
    std::string rest;
    if (std::ifstream in(output); in) {
      const std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (const auto at = old.find("\n## "); at != std::string::npos) rest = old.substr(at);
    }
    core::write_file_atomically(output, [&](std::ostream& os) { os << buf << rest; });
    std::fputs(buf, stdout);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 1;
  }
  return 0;
}
