// Physics-based personalisation, BOBYQA over the 18 segment speeds (the experiment's `physics`) against
// the gradient-based per-node fit with the FIM adjoint (`physics_adjoint`, issue 13), on the test maps of
// a dataset, without LibTorch. The numbers of bench/results/metapinn.md, section "physics_adjoint
// (issue 13)".
//
// usage: metaeik_physics_fit_compare DATASET_DIR [MAPS_PER_SUBJECT (default 5, 0 = all)] [MAX_MAPS (0 = no
//        limit)] [PRIOR WEIGHT]
// Subjects are visited in the order i·7 mod #subjects (mixing geometries and scars when MAX_MAPS cuts the
// list short). Prints a markdown table (mean ± std over maps) and one line per map. Metrics as in the
// experiment: relative error = RMSE / range of the truth, correlation = Pearson over all nodes; time = wall
// and thread CPU time of one fit (single-threaded; BOBYQA is handed the map's true source, the adjoint fit
// chooses its own). Maps run one after the other on one thread.

#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "eikonal/dataset.hpp"
#include "eikonal/speed_fit.hpp"
#include "eikonal/speed_fit_adjoint.hpp"

namespace {

using namespace metaeik;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double correlation(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
  return (x * y).sum() / std::sqrt(x.square().sum() * y.square().sum());
}

double rel_error(const Eigen::VectorXd& pred, const Eigen::VectorXd& truth) {
  return std::sqrt((pred - truth).squaredNorm() / double(truth.size())) /
         (truth.maxCoeff() - truth.minCoeff());
}

struct Row {
  double at_rel = 0, at_corr = 0, v_rel = 0, v_corr = 0, wall = 0, cpu = 0, solves = 0;
};

struct Column {
  std::vector<Row> rows;
  std::string pm(double Row::*f) const {
    double m = 0, s = 0;
    for (const auto& r : rows) m += r.*f;
    m /= double(rows.size());
    for (const auto& r : rows) s += (r.*f - m) * (r.*f - m);
    s = rows.size() > 1 ? std::sqrt(s / double(rows.size() - 1)) : 0.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f ± %.3f", m, s);
    return buf;
  }
  double mean(double Row::*f) const {
    double m = 0;
    for (const auto& r : rows) m += r.*f;
    return m / double(rows.size());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATASET_DIR [MAPS_PER_SUBJECT] [MAX_MAPS] [PRIOR WEIGHT]\n", argv[0]);
    return 2;
  }
  try {
    const auto dataset = eikonal::Dataset::load(argv[1]);
    const int per_subject = argc > 2 ? std::atoi(argv[2]) : 5;
    const int max_maps = argc > 3 ? std::atoi(argv[3]) : 0;
    eikonal::AdjointFitOptions ao;
    if (argc > 5) ao.prior = argv[4], ao.prior_weight = std::atof(argv[5]);
    eikonal::FimOptions fo;
    fo.threads = 1;
    std::vector<eikonal::FimSolver> solvers;
    for (int g = 0; g < int(dataset.geometries().size()); ++g) solvers.emplace_back(dataset.mesh(g), fo);
    Column bobyqa, adjoint;
    const int S = int(dataset.subjects().size());
    for (int i = 0; i < S; ++i) {
      const int s = S % 7 == 0 ? i : (i * 7) % S;
      const int g = dataset.subjects()[s].geometry;
      const auto& mesh = dataset.mesh(g);
      const Eigen::VectorXi regions = eikonal::aha_segment_regions(mesh.point_labels("aha"));
      const Eigen::VectorXi mask = dataset.observation_mask(g);
      const Eigen::VectorXd speed = dataset.speed(s);
      std::vector<int> maps = dataset.maps_of(s, "test");
      if (per_subject > 0 && int(maps.size()) > per_subject) maps.resize(per_subject);
      for (int m : maps) {
        if (max_maps > 0 && int(adjoint.rows.size()) >= max_maps) break;
        const Eigen::VectorXd truth = dataset.activation(m), obs = dataset.observation(m);
        double c0 = cpu_seconds();
        const auto b = eikonal::fit_region_speeds(solvers[g], regions, dataset.maps()[m].sources, obs, mask);
        const double b_cpu = cpu_seconds() - c0;
        c0 = cpu_seconds();
        const auto a = eikonal::fit_node_speeds_adjoint(solvers[g], mesh, obs, mask, ao);
        const double a_cpu = cpu_seconds() - c0;
        bobyqa.rows.push_back({rel_error(b.times, truth), correlation(b.times, truth),
                               rel_error(b.node_speed, speed), correlation(b.node_speed, speed), b.seconds,
                               b_cpu, double(b.evaluations)});
        adjoint.rows.push_back({rel_error(a.times, truth), correlation(a.times, truth),
                                rel_error(a.node_speed, speed), correlation(a.node_speed, speed), a.seconds,
                                a_cpu, double(a.solves)});
        const auto& src = dataset.maps()[m].sources[0];
        std::printf(
            "map %d (subject %d): velocity corr BOBYQA %.3f adjoint %.3f; AT corr %.3f / %.3f; CPU s %.2f / "
            "%.2f; source %d (true %d, %.1f mm)\n",
            m, s, bobyqa.rows.back().v_corr, adjoint.rows.back().v_corr, bobyqa.rows.back().at_corr,
            adjoint.rows.back().at_corr, b_cpu, a_cpu, a.source.node, src.node,
            (mesh.points.row(a.source.node) - mesh.points.row(src.node)).norm());
        std::fflush(stdout);
      }
    }
    std::printf(
        "\n| method | maps | AT rel. error | AT corr. | velocity rel. error | velocity corr. | "
        "wall s per map | CPU s per map | FIM solves per map |\n|---|---|---|---|---|---|---|---|---|\n");
    for (const auto* c : {&bobyqa, &adjoint})
      std::printf("| %s | %zu | %s | %s | %s | %s | %.3f | %.3f | %.0f |\n",
                  c == &bobyqa ? "physics (BOBYQA, 18 segments, true source)"
                               : ("physics_adjoint (L-BFGS, node speeds, " + ao.prior + " " +
                                  std::to_string(ao.prior_weight).substr(0, 5) + ")")
                                     .c_str(),
                  c->rows.size(), c->pm(&Row::at_rel).c_str(), c->pm(&Row::at_corr).c_str(),
                  c->pm(&Row::v_rel).c_str(), c->pm(&Row::v_corr).c_str(), c->mean(&Row::wall),
                  c->mean(&Row::cpu), c->mean(&Row::solves));
    int wins = 0;
    for (size_t i = 0; i < adjoint.rows.size(); ++i) wins += adjoint.rows[i].v_corr > bobyqa.rows[i].v_corr;
    std::printf("\nphysics_adjoint has the higher velocity correlation on %d of %zu maps.\n", wins,
                adjoint.rows.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
