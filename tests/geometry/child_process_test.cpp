#include "geometry/child_process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

#include "../support/errors.hpp"
#include "core/error.hpp"

namespace metaeik::geometry::detail {
namespace {

using test::error_of;

std::string run(const std::function<std::string()>& work) {
  return run_in_child(work, "m.msh: cannot read", "it crashed");
}

TEST(ChildProcess, ReturnsTheChildsBytesAndErrors) {
  const std::string big(300000, 'x');  // more than a pipe buffer
  EXPECT_EQ(run([&] { return big + std::string(1, '\0') + "end"; }), big + std::string(1, '\0') + "end");
  EXPECT_EQ(run([] { return std::string(); }), "");
  EXPECT_EQ(error_of([] { run([]() -> std::string { METAEIK_FAIL("m.msh: bad node 9"); }); }),
            "m.msh: bad node 9");
  EXPECT_EQ(error_of([] { run([]() -> std::string { throw std::runtime_error("odd"); }); }),
            "m.msh: cannot read (odd)");
}

TEST(ChildProcess, ACrashOrASilentExitIsAnErrorHere) {
  EXPECT_EQ(error_of([] {
              run([]() -> std::string {
                std::raise(SIGSEGV);
                return "";
              });
            }),
            "m.msh: cannot read (it crashed: Segmentation fault)");
  EXPECT_EQ(error_of([] { run([]() -> std::string { ::_exit(5); }); }),
            "m.msh: cannot read (the reading process failed without a message)");
}

}  // namespace
}  // namespace metaeik::geometry::detail
