// `metaeikonal aphyn`: bad configs and bad trace files give one-line errors and exit code 1.

#include "tests/support/cli.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace metaeik::test {
namespace {

TEST(AphynCli, BadConfigAndBadTracesAreOneLineErrors) {
  TempDir dir("aphyn_cli");
  const auto cfg = dir / "bad.json";
  std::ofstream(cfg)
      << R"({"model": {"tau_inn": 0.3}, "data": {"train": {"csv": "a.csv"}, "validation": {"csv": "a.csv"}}})";
  auto r = run_cli("aphyn train -c " + cfg.string() + " -o " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + cfg.string() + ": key 'model.tau_inn': unknown key\n");

  const auto csv = dir / "t.csv";
  std::ofstream(csv) << "time,a\n0,1\n1,oops\n";
  const auto good = dir / "good.json";
  std::ofstream(good) << R"({"data": {"train": {"csv": "t.csv"}, "validation": {"csv": "t.csv"}}})";
  r = run_cli("-q aphyn train -c " + good.string() + " -o " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + csv.string() + ": line 3, column 'a': not a number: \"oops\"\n");

  r = run_cli("aphyn forecast -m " + (dir / "none").string() + " --traces " + csv.string() + " -o " +
              (dir / "f").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: -m: " + (dir / "none").string() + " is not an aphyn run (no config.json)\n");
}

}  // namespace
}  // namespace metaeik::test
