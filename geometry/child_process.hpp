#pragma once
// Internal: run a function in a forked child process, so that a library which crashes on bad input
// (the Gmsh SDK's MSH 4.1 binary reader follows unchecked node tags) costs an error, not the
// caller's process.

#include <functional>
#include <string>

namespace metaeik::geometry::detail {

/// Runs `work` in a forked child and returns the bytes it returned. A core::Error thrown in the
/// child is rethrown here with the same message; any other exception becomes
/// "<what_failed> (<its what()>)"; a child killed by a signal becomes
/// "<what_failed> (<crashed>: <signal name>)". The child does no logging and leaves with _exit.
std::string run_in_child(const std::function<std::string()>& work, const std::string& what_failed,
                         const std::string& crashed);

}  // namespace metaeik::geometry::detail
