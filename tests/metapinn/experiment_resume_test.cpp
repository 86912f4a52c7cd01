// `metaeikonal experiment --resume`: killed (SIGKILL) after the dataset, after the physics stage,
// during the trainings and after a meta stage, each time resumed, configs/experiment/tiny.json
// ends with the results.csv and summary.md numbers of an uninterrupted run; and the one-line
// errors of --resume.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "tests/support/cli.hpp"

namespace fs = std::filesystem;
using namespace metaeik;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);) v.push_back(x);
  return v;
}

/// results.csv without its `seconds` column (wall times differ between runs).
std::vector<std::string> results_without_times(const fs::path& out) {
  std::vector<std::string> rows;
  const auto lines = split(read_text(out / "results.csv"), '\n');
  if (lines.empty()) return rows;
  const auto header = split(lines[0], ',');
  const auto seconds = std::find(header.begin(), header.end(), "seconds") - header.begin();
  for (const auto& line : lines) {
    auto cells = split(line, ',');
    if (std::ptrdiff_t(cells.size()) > seconds) cells.erase(cells.begin() + seconds);
    std::string r;
    for (const auto& c : cells) r += c + ",";
    rows.push_back(r);
  }
  return rows;
}

/// summary.md without its times: the run time, the pass times, the time columns of the comparison
/// table and the stage wall-time table. What is left are the accuracy numbers.
std::string summary_without_times(const fs::path& out) {
  std::string kept, section;
  for (const auto& line : split(read_text(out / "summary.md"), '\n')) {
    if (line.rfind("## ", 0) == 0) section = line;
    if (section == "## Stage wall times" || line.find("Total run time") != std::string::npos ||
        line.find("context pass") != std::string::npos)
      continue;
    if (section.rfind("## Comparison", 0) == 0 && line.rfind("|", 0) == 0) {
      const auto cells = split(line, '|');  // "", method, maps, 5 accuracy columns, 3 time columns
      std::string r;
      for (std::size_t i = 0; i < std::min<std::size_t>(cells.size(), 8); ++i) r += cells[i] + "|";
      kept += r + "\n";
      continue;
    }
    kept += line + "\n";
  }
  return kept;
}

/// Runs `metaeikonal ARGS` (output into `log`); SIGKILLs it as soon as `when()` holds. Returns
/// true if it was killed, false if it exited first.
bool run_and_kill(const std::vector<std::string>& args, const fs::path& log,
                  const std::function<bool()>& when) {
  std::vector<std::string> all{METAEIK_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  EXPECT_GT(pid, 0);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // finished (or failed) before the point
    if (when()) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ADD_FAILURE() << "the run did not reach the kill point within 10 minutes:\n" << read_text(log);
  return false;
}

bool any_checkpoint(const fs::path& out) {
  for (const char* m : {"meta_neural", "meta_pinn"})
    for (const char* s : {"seed_3", "seed_4"})
      if (fs::exists(out / "models" / m / s / "last.pt")) return true;
  return false;
}

}  // namespace

TEST(ExperimentResume, KilledAtSeveralPointsEndsWithTheUninterruptedNumbers) {
  test::TempDir tmp("experiment_resume");
  // tiny.json, with meta-neural trained for 10 epochs (~30 ms each), so that the kill during the
  // trainings lands well before they finish.
  auto tiny = core::load_json_file(test::source_dir() / "configs" / "experiment" / "tiny.json");
  tiny["meta_neural"]["epochs"] = 10;
  const std::string config = (tmp / "tiny.json").string();
  std::ofstream(config) << tiny.dump();
  const fs::path ref = tmp / "ref", out = tmp / "out";
  const auto r = test::run_cli("experiment -c " + config + " -o " + ref.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::vector<std::string> fresh{"experiment", "-c", config, "-o", out.string()};
  std::vector<std::string> resume = fresh;
  resume.push_back("--resume");
  const fs::path stages = out / "stages";
  // 1. After the dataset.
  ASSERT_TRUE(run_and_kill(fresh, tmp / "1.log", [&] { return fs::exists(stages / "dataset.json"); }))
      << read_text(tmp / "1.log");
  // 2. After the physics-based fits: the dataset is reused, not generated again.
  ASSERT_TRUE(run_and_kill(resume, tmp / "2.log", [&] { return fs::exists(stages / "physics.json"); }))
      << read_text(tmp / "2.log");
  EXPECT_NE(read_text(tmp / "2.log").find("experiment: reusing the dataset"), std::string::npos)
      << read_text(tmp / "2.log");
  EXPECT_EQ(read_text(tmp / "2.log").find("generating the dataset"), std::string::npos);
  // 3. During the trainings, once the first epoch of a model is checkpointed.
  ASSERT_TRUE(run_and_kill(resume, tmp / "3.log", [&] { return any_checkpoint(out); }))
      << read_text(tmp / "3.log");
  EXPECT_NE(read_text(tmp / "3.log").find("experiment: reusing physics-based (18 segments)"),
            std::string::npos)
      << read_text(tmp / "3.log");
  // 4. After the first meta stage: the interrupted trainings continue from their last.pt.
  ASSERT_TRUE(run_and_kill(resume, tmp / "4.log", [&] { return fs::exists(stages / "meta_neural.json"); }))
      << read_text(tmp / "4.log");
  EXPECT_NE(read_text(tmp / "4.log").find("experiment: continuing "), std::string::npos)
      << read_text(tmp / "4.log");
  // 5. To the end, with the finished meta stage loaded.
  const auto last = test::run_cli("experiment -c " + config + " -o " + out.string() + " --resume");
  ASSERT_EQ(last.exit_code, 0) << last.output;
  EXPECT_NE(last.output.find("experiment: reusing meta-neural"), std::string::npos) << last.output;
  EXPECT_EQ(last.output.find("experiment: training "), std::string::npos) << last.output;

  EXPECT_EQ(results_without_times(out), results_without_times(ref));
  EXPECT_EQ(summary_without_times(out), summary_without_times(ref));
  EXPECT_NE(summary_without_times(ref).find("| meta-PINN | 4 | "), std::string::npos)
      << summary_without_times(ref);
  // The example maps (some of them from completion records) are the same files.
  const std::string pvd = read_text(ref / "examples" / "examples.pvd");
  EXPECT_EQ(read_text(out / "examples" / "examples.pvd"), pvd);
  int examples = 0;
  for (const auto& e : fs::directory_iterator(ref / "examples"))
    if (e.path().extension() == ".vtu") {
      ++examples;
      EXPECT_EQ(read_text(out / "examples" / e.path().filename()), read_text(e.path()))
          << e.path().filename();
    }
  EXPECT_EQ(examples, 8);
  // Nothing of the killed runs is left behind (their temporary files).
  for (const auto& e : fs::recursive_directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();

  // A finished experiment resumes to the same report, without recomputing anything.
  const auto again = test::run_cli("experiment -c " + config + " -o " + out.string() + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("experiment: training "), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("experiment: continuing "), std::string::npos) << again.output;
  EXPECT_EQ(results_without_times(out), results_without_times(ref));

  // Another config is refused, naming experiment.json and the first differing key.
  auto changed = tiny;
  changed["seed"] = 7;
  {
    std::ofstream f(tmp / "changed.json");
    f << changed.dump();
  }
  const auto differs =
      test::run_cli("experiment -c " + (tmp / "changed.json").string() + " -o " + out.string() + " --resume");
  EXPECT_EQ(differs.exit_code, 1);
  EXPECT_NE(differs.output.find("error: --resume: '" + (out / "experiment.json").string() +
                                "': the configuration differs from the stored one (first at /seed)"),
            std::string::npos)
      << differs.output;
}

TEST(ExperimentResume, OneLineErrors) {
  test::TempDir tmp("experiment_resume_errors");
  const std::string config = (test::source_dir() / "configs" / "experiment" / "tiny.json").string();
  const fs::path out = tmp / "out";
  auto r = test::run_cli("experiment -c " + config + " -o " + out.string() + " --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: --resume: '" + out.string() + "' does not exist (nothing to resume)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out));

  fs::create_directories(out);
  std::ofstream(out / "notes.txt") << "mine";
  r = test::run_cli("experiment -c " + config + " -o " + out.string() + " --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: --resume: '" + out.string() +
                          "' holds no experiment.json (not an experiment's output directory)"),
            std::string::npos)
      << r.output;
  r = test::run_cli("experiment -c " + config + " -o " + out.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: '" + out.string() +
                          "' already exists; use --force to replace it, or --resume to continue it"),
            std::string::npos)
      << r.output;
  r = test::run_cli("experiment -c " + config + " -o " + out.string() + " --resume --force");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--force excludes --resume"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out / "notes.txt"));
}
