// `metaeikonal experiment`: config reading (defaults, one-line errors, shipped configs) and an
// end-to-end run of configs/experiment/tiny.json (all four methods, every output file).

#include "metapinn/experiment.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "geometry/vtk_io.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/errors.hpp"

namespace fs = std::filesystem;
using namespace metaeik;
using namespace metaeik::metapinn;

namespace {

using test::error_of;

ExperimentConfig parse(const std::string& text) {
  return read_experiment_config(core::Json::parse(text), "exp.json", "/base");
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(ExperimentConfig, DefaultsAreThePaperSetup) {
  const auto c = parse("{}");
  EXPECT_EQ(c.k, 5);
  EXPECT_EQ(c.k_ablation, (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(c.max_test_maps_per_subject, 0);
  EXPECT_EQ(c.methods, (std::vector<std::string>{"physics", "meta_neural", "multi_pinn", "meta_pinn"}));
  EXPECT_DOUBLE_EQ(c.physics.lower, 0.01);
  EXPECT_DOUBLE_EQ(c.physics.upper, 1.0);
  EXPECT_DOUBLE_EQ(c.physics.start, 0.35);
  EXPECT_EQ(c.physics.max_evaluations, 500);
  EXPECT_TRUE(c.dataset_dir.empty());
  EXPECT_TRUE(c.dataset_generate.is_null());
}

TEST(ExperimentConfig, RelativePathsAndRoundTrip) {
  const auto c = parse(R"({"dataset": {"dir": "data"}, "meta_pinn": {"model": "runs/a"}, "seeds": [7],
                           "meta_neural": {"train": "../train/quick.json", "epochs": 7}, "k": 3,
                           "k_ablation": [1, 3], "multi_pinn": {"iterations": 10}})");
  EXPECT_EQ(c.dataset_dir, "/base/data");
  EXPECT_EQ(c.meta_pinn.models, (std::vector<std::string>{"/base/runs/a"}));
  EXPECT_EQ(c.meta_neural.train.get<std::string>(), "/train/quick.json");
  EXPECT_EQ(c.meta_neural.epochs, 7);
  EXPECT_EQ(c.multi_pinn.iterations, 10);
  const auto again = read_experiment_config(to_json(c), "again.json");
  EXPECT_EQ(to_json(again), to_json(c));
}

TEST(ExperimentConfig, BadInputGivesOneLineErrors) {
  EXPECT_EQ(error_of([] { parse(R"({"kk": 5})"); }), "exp.json: key 'kk': unknown key");
  EXPECT_EQ(error_of([] { parse(R"({"k": 0})"); }), "exp.json: key 'k': value 0 is out of range [1, 1000]");
  EXPECT_EQ(error_of([] { parse(R"({"methods": ["physics", "magic"]})"); }),
            "exp.json: key 'methods': unknown method 'magic' (choose from physics, physics_groups, "
            "physics_adjoint, "
            "meta_neural, multi_pinn, meta_pinn, meta_fim)");
  EXPECT_EQ(error_of([] { parse(R"({"meta_fim": {"models": ["a"]}})"); }),
            "exp.json: key 'meta_fim.models': gives 1 runs for 3 seeds");
  EXPECT_EQ(
      error_of([] { parse(R"({"physics_adjoint": {"prior": "l2"}})"); }),
      "exp.json: key 'physics_adjoint.prior': unknown value \"l2\" (expected one of \"laplacian\", \"tv\")");
  EXPECT_EQ(error_of([] { parse(R"({"physics_adjoint": {"weight": 1}})"); }),
            "exp.json: key 'physics_adjoint.weight': unknown key");
  EXPECT_EQ(error_of([] { parse(R"({"physics_adjoint": {"v_min": 2}})"); }),
            "exp.json: key 'physics_adjoint.v_max': must exceed v_min, got 1 <= 2");
  EXPECT_EQ(error_of([] { parse(R"({"meta_pinn": {"models": ["a", "b"]}})"); }),
            "exp.json: key 'meta_pinn.models': gives 2 runs for 3 seeds");
  EXPECT_EQ(error_of([] { parse(R"({"holdout": "scar"})"); }),
            "exp.json: key 'holdout': unknown value \"scar\" (expected one of \"none\", \"diagonal\", "
            "\"geometry\")");
  EXPECT_EQ(
      error_of([] { parse(R"({"meta_pinn": {"model": "a", "train": {}}})"); }),
      "exp.json: key 'meta_pinn.model': give either 'model'/'models' (trained runs) or 'train', not both");
  EXPECT_EQ(error_of([] { parse(R"({"multi_pinn": {"lr": "fast"}})"); }),
            "exp.json: key 'multi_pinn.lr': expected a number, got a string");
  EXPECT_EQ(
      error_of([] { parse(R"({"physics": {"start": 2}})"); }),
      "exp.json: key 'physics.start': need lower < upper and start within [lower, upper], got 0.01, 1, 2");
}

TEST(ExperimentConfig, PhysicsAdjointKeysRoundTrip) {
  const auto c = parse(R"({"methods": ["physics", "physics_adjoint"],
    "physics_adjoint": {"v_min": 0.1, "v_max": 0.8, "prior": "laplacian", "prior_weight": 50, "tv_epsilon": 0.02,
                        "source_candidates": 3, "source_search_steps": 0, "max_evaluations": 40, "ftol_rel": 1e-6}})");
  EXPECT_EQ(c.methods, (std::vector<std::string>{"physics", "physics_adjoint"}));
  EXPECT_DOUBLE_EQ(c.physics_adjoint.v_min, 0.1);
  EXPECT_DOUBLE_EQ(c.physics_adjoint.v_max, 0.8);
  EXPECT_EQ(c.physics_adjoint.prior, "laplacian");
  EXPECT_DOUBLE_EQ(c.physics_adjoint.prior_weight, 50.0);
  EXPECT_DOUBLE_EQ(c.physics_adjoint.tv_epsilon, 0.02);
  EXPECT_EQ(c.physics_adjoint.source_candidates, 3);
  EXPECT_EQ(c.physics_adjoint.source_search_steps, 0);
  EXPECT_EQ(c.physics_adjoint.max_evaluations, 40);
  EXPECT_DOUBLE_EQ(c.physics_adjoint.ftol_rel, 1e-6);
  EXPECT_EQ(to_json(read_experiment_config(to_json(c), "again.json")), to_json(c));
  EXPECT_EQ(parse("{}").physics_adjoint.prior, eikonal::AdjointFitOptions{}.prior);
}

TEST(ExperimentConfig, ShippedConfigsParse) {
  for (const char* name : {"tiny", "quick", "fair", "paper"}) {
    SCOPED_TRACE(name);
    const auto path = test::source_dir() / "configs" / "experiment" / (std::string(name) + ".json");
    ExperimentConfig c;
    ASSERT_NO_THROW(c = load_experiment_config(path));
    EXPECT_GE(c.methods.size(), 4u);
    EXPECT_GE(c.seeds.size(), 2u);
  }
  const auto paper = load_experiment_config(test::source_dir() / "configs/experiment/paper.json");
  EXPECT_EQ(paper.max_test_maps_per_subject, 0);  // all 200 test maps
  EXPECT_EQ(paper.physics.max_evaluations, 500);
}

TEST(ExperimentCli, TinyConfigRunsEndToEnd) {
  test::TempDir tmp("experiment_cli");
  const fs::path out = tmp / "out";
  const auto config = test::source_dir() / "configs" / "experiment" / "tiny.json";
  auto r = test::run_cli("experiment -c " + config.string() + " -o " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A quiet terminal: our log lines and progress bars, no glog or LibTorch notices.
  EXPECT_EQ(r.output.find("InitGoogleLogging"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("scatter_reduce"), std::string::npos) << r.output;

  // results.csv: physics and multi-PINN once per test map, the meta methods once per map and k.
  std::ifstream csv(out / "results.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(
      line,
      "method,subject,map,k,seed,at_rel_error,at_corr,v_rel_error,v_corr,residual,seconds,at_rel_error_endo,"
      "at_corr_endo,at_rel_error_rest,at_corr_rest");
  std::map<std::string, int> count;
  while (std::getline(csv, line)) {
    const std::string method = line.substr(0, line.find(','));
    ++count[method];
    if (method == "meta_neural") EXPECT_NE(line.find(",nan,nan,nan,"), std::string::npos) << line;
  }
  // tiny.json: 2 subjects × 1 test map; k_ablation {1, 3} (k = 3); training seeds {3, 4}; the
  // shuffled-context control once per map and seed.
  EXPECT_EQ(count["physics"], 2);
  EXPECT_EQ(count["multi_pinn"], 2);
  EXPECT_EQ(count["meta_pinn"], 8);
  EXPECT_EQ(count["meta_neural"], 8);
  EXPECT_EQ(count["meta_pinn_other"], 4);

  const std::string summary = read_text(out / "summary.md");
  for (const char* label :
       {"| physics-based (18 segments) |", "| meta-neural |", "| multi-PINN |", "| meta-PINN |",
        "## k-ablation", "## Shuffled-context control", "## Endocardium (observed) vs. rest"})
    EXPECT_NE(summary.find(label), std::string::npos) << label;
  EXPECT_NE(summary.find("| meta-neural | 4 | "), std::string::npos);
  EXPECT_NE(summary.find(" (maps ± "), std::string::npos);  // meta entries: ± over seeds, then over maps
  EXPECT_NE(summary.find("| n/a | n/a | n/a |"), std::string::npos);  // meta-neural: no velocity, no residual
  EXPECT_TRUE(fs::file_size(out / "fig2.png") > 1000);
  EXPECT_TRUE(fs::exists(out / "k_ablation.png"));
  for (const char* seed : {"seed_3", "seed_4"}) {
    EXPECT_TRUE(fs::exists(out / "models" / "meta_pinn" / seed / "config.json"));
    EXPECT_TRUE(fs::exists(out / "models" / "meta_neural" / seed / "config.json"));
  }

  // examples.pvd lists one .vtu per method and example map; each holds the documented arrays.
  const std::string pvd = read_text(out / "examples" / "examples.pvd");
  std::regex file_re("file=\"([^\"]+)\"");
  int files = 0;
  for (std::sregex_iterator it(pvd.begin(), pvd.end(), file_re), end; it != end; ++it, ++files) {
    const auto mesh = geometry::read_mesh(out / "examples" / (*it)[1].str());
    for (const char* a : {"activation_time_true", "activation_time_pred", "error", "velocity_true",
                          "velocity_pred", "observed", "surface", "aha"})
      EXPECT_TRUE(mesh.point_data.count(a)) << (*it)[1].str() << " lacks " << a;
    const Eigen::VectorXd err = mesh.point_scalar("error");
    const Eigen::VectorXd diff =
        mesh.point_scalar("activation_time_pred") - mesh.point_scalar("activation_time_true");
    EXPECT_LT((err - diff).cwiseAbs().maxCoeff(), 1e-3 * (1.0 + diff.cwiseAbs().maxCoeff()));
  }
  EXPECT_EQ(files, 8);  // 4 methods × 2 example maps

  // An existing output directory is refused without --force and replaced with it.
  r = test::run_cli("experiment -c " + config.string() + " -o " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: '" + out.string() + "' already exists; use --force to replace it"),
            std::string::npos)
      << r.output;
  r = test::run_cli("experiment -c " + config.string() + " -o " + out.string() +
                    " --force --max_test_maps_per_subject 0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// The two physics-based stages alone (no training): one row per test map each, both in the summary.
TEST(ExperimentCli, PhysicsStagesAloneRunWithoutTraining) {
  test::TempDir tmp("experiment_physics");
  auto config = core::load_json_file(test::source_dir() / "configs" / "experiment" / "tiny.json");
  config["methods"] = {"physics", "physics_adjoint"};
  config["physics_adjoint"] = {{"max_evaluations", 30}};
  config.erase("meta_pinn");
  config.erase("meta_neural");
  {
    std::ofstream f(tmp / "physics.json");
    f << config.dump();
  }
  const auto r =
      test::run_cli("experiment -c " + (tmp / "physics.json").string() + " -o " + (tmp / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream csv(tmp / "out" / "results.csv");
  std::string line;
  std::map<std::string, int> count;
  std::getline(csv, line);
  while (std::getline(csv, line)) ++count[line.substr(0, line.find(','))];
  EXPECT_EQ(count["physics"], 2);
  EXPECT_EQ(count["physics_adjoint"], 2);
  EXPECT_EQ(count.size(), 2u);
  const std::string summary = read_text(tmp / "out" / "summary.md");
  EXPECT_NE(summary.find("| physics-based adjoint (node speeds, L-BFGS) | 2 | "), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("physics-based adjoint fits one speed per node"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "out" / "models"));
}

TEST(ExperimentCli, BadConfigIsRefusedBeforeAnyWork) {
  test::TempDir tmp("experiment_bad");
  {
    std::ofstream f(tmp / "bad.json");
    f << R"({"methods": ["physics"], "k_ablation": [0]})";
  }
  const auto r =
      test::run_cli("experiment -c " + (tmp / "bad.json").string() + " -o " + (tmp / "out").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: " + (tmp / "bad.json").string() +
                          ": key 'k_ablation': every k must be at least 1, got 0"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp / "out"));
}
