#include "core/fs.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/cli.hpp"
#include "core/error.hpp"

namespace metaeik::core {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WriteAtomically, FailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  test::TempDir dir("fs");
  const auto file = dir / "out.txt";
  write_file_atomically(file, [](std::ostream& os) { os << "first"; });
  EXPECT_EQ(slurp(file), "first");
  EXPECT_THROW(write_file_atomically(file,
                                     [](std::ostream& os) {
                                       os << "partial";
                                       throw Error("disk full");
                                     }),
               Error);
  EXPECT_EQ(slurp(file), "first");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(WriteAtomically, MissingDirectoryIsAnError) {
  test::TempDir dir("fs_missing");
  const auto file = dir / "nope" / "out.txt";
  try {
    write_file_atomically(file, [](std::ostream& os) { os << "x"; });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              file.string() + ": cannot write, directory " + (dir / "nope").string() + " does not exist");
  }
}

TEST(AtomicDirectory, CommitRenamesAndAbortRemoves) {
  test::TempDir dir("fs_dir");
  const auto target = dir / "dataset";
  {
    AtomicDirectory d(target, false);
    std::ofstream(d.path() / "a.txt") << "a";
    EXPECT_FALSE(fs::exists(target));
    // destroyed without commit (as when an exception unwinds)
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(fs::is_empty(dir.path()));
  {
    AtomicDirectory d(target, false);
    std::ofstream(d.path() / "a.txt") << "a";
    d.commit();
  }
  EXPECT_EQ(slurp(target / "a.txt"), "a");
  try {
    AtomicDirectory d(target, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), target.string() + ": already exists (use --force to overwrite)");
  }
  {
    AtomicDirectory d(target, true);
    std::ofstream(d.path() / "b.txt") << "b";
    EXPECT_TRUE(fs::exists(target / "a.txt"));  // old content intact until commit
    d.commit();
  }
  EXPECT_FALSE(fs::exists(target / "a.txt"));
  EXPECT_EQ(slurp(target / "b.txt"), "b");
}

TEST(TrimLog, KeepsTheHeaderAndTheRowsUpToTheCheckpoint) {
  test::TempDir dir("trim_log");
  const auto path = dir / "log.csv";
  {
    std::ofstream os(path);
    // Row 4 was written before a kill that came ahead of checkpoint 4; the last line is torn.
    os << "epoch,step,loss\n1,10,0.5\n2,20,0.4\nbad,row\n3,30,0.3\n4,40,0.2\n5,5";
  }
  trim_log(path, 0, 3);
  EXPECT_EQ(slurp(path), "epoch,step,loss\n1,10,0.5\n2,20,0.4\n3,30,0.3\n");
  trim_log(path, 1, 15);  // by another column
  EXPECT_EQ(slurp(path), "epoch,step,loss\n1,10,0.5\n");
  trim_log(dir / "missing.csv", 0, 1);
  EXPECT_FALSE(fs::exists(dir / "missing.csv"));
}

}  // namespace
}  // namespace metaeik::core
