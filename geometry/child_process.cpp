#include "geometry/child_process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"

namespace metaeik::geometry::detail {

namespace {

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= std::size_t(w);
  }
  return true;
}

/// Child side: status byte ('0' result, '1' core::Error, '2' other exception) and the payload.
[[noreturn]] void child_main(int fd, const std::function<std::string()>& work) {
  std::signal(SIGINT, SIG_DFL);  // the parent handles interrupts; the child just stops
  std::signal(SIGTERM, SIG_DFL);
  char status = '0';
  std::string payload;
  try {
    payload = work();
  } catch (const core::Error& e) {
    status = '1';
    payload = e.what();
  } catch (const std::exception& e) {
    status = '2';
    payload = e.what();
  } catch (...) {
    status = '2';
    payload = "unknown exception";
  }
  const bool ok = write_all(fd, &status, 1) && write_all(fd, payload.data(), payload.size());
  ::close(fd);
  ::_exit(ok ? 0 : 3);
}

}  // namespace

std::string run_in_child(const std::function<std::string()>& work, const std::string& what_failed,
                         const std::string& crashed) {
  int fds[2];
  METAEIK_CHECK(::pipe(fds) == 0, what_failed << " (cannot create a pipe: " << std::strerror(errno) << ")");
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    METAEIK_FAIL(what_failed << " (cannot fork: " << std::strerror(err) << ")");
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], work);
  }
  ::close(fds[1]);
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fds[0], buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    bytes.append(buf, std::size_t(r));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    METAEIK_FAIL(what_failed << " (" << crashed << ": " << strsignal(WTERMSIG(status)) << ")");
  METAEIK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !bytes.empty(),
                what_failed << " (the reading process failed without a message)");
  const char kind = bytes[0];
  bytes.erase(0, 1);
  if (kind == '1') throw core::Error(bytes, __FILE__, __LINE__);
  if (kind == '2') METAEIK_FAIL(what_failed << " (" << bytes << ")");
  return bytes;
}

}  // namespace metaeik::geometry::detail
