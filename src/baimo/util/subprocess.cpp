#include "baimo/util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "baimo/util/error.h"

extern char** environ;

namespace baimo {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

void make_pipe(Fd& r, Fd& w, const std::string& command) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) fail("command '{}': cannot create a pipe: {}", command, std::strerror(errno));
  r.fd = p[0];
  w.fd = p[1];
}

// SIGPIPE blocked in this thread while it writes to the child (a write to a closed pipe is then
// EPIPE); a SIGPIPE that a write raised is taken off the pending set before the mask is restored.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (raised) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  bool raised = false;

 private:
  sigset_t pipe_, old_;
};

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1000));
}

}  // namespace

ShellResult run_shell(const std::string& command, std::string_view input, std::chrono::milliseconds timeout,
                      size_t err_tail_bytes) {
  const auto deadline = Clock::now() + timeout;
  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  make_pipe(in_r, in_w, command);
  make_pipe(out_r, out_w, command);
  make_pipe(err_r, err_w, command);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) fail("command '{}': cannot start /bin/sh: {}", command, std::strerror(rc));
  in_r.reset(), out_w.reset(), err_w.reset();
  ::fcntl(in_w.fd, F_SETFL, ::fcntl(in_w.fd, F_GETFL) | O_NONBLOCK);

  ShellResult r;
  std::string err;
  size_t written = 0;
  if (input.empty()) in_w.reset();
  {
    SigpipeBlock block;
    char buf[65536];
    while ((out_r.fd >= 0 || err_r.fd >= 0) && !r.timed_out) {
      pollfd fds[3];
      int n = 0;
      if (in_w.fd >= 0) fds[n++] = {in_w.fd, POLLOUT, 0};
      if (out_r.fd >= 0) fds[n++] = {out_r.fd, POLLIN, 0};
      if (err_r.fd >= 0) fds[n++] = {err_r.fd, POLLIN, 0};
      const int ready = ::poll(fds, n, ms_left(deadline));
      if (ready < 0 && errno != EINTR) {
        const int e = errno;
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        fail("command '{}': poll failed: {}", command, std::strerror(e));
      }
      if (ready <= 0) {
        r.timed_out = Clock::now() >= deadline;
        continue;
      }
      for (int i = 0; i < n; ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == in_w.fd) {
          const ssize_t w = ::write(in_w.fd, input.data() + written, input.size() - written);
          if (w > 0) written += static_cast<size_t>(w);
          if (w < 0 && errno == EPIPE) block.raised = true;
          if (written == input.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) in_w.reset();
          continue;
        }
        const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) {
          (fds[i].fd == out_r.fd ? out_r : err_r).reset();
          continue;
        }
        if (fds[i].fd == out_r.fd) {
          r.out.append(buf, static_cast<size_t>(got));
        } else {
          err.append(buf, static_cast<size_t>(got));
          if (err.size() > 2 * err_tail_bytes + sizeof buf) err.erase(0, err.size() - err_tail_bytes);
        }
      }
    }
    in_w.reset();
  }
  int status = 0;
  if (r.timed_out) ::kill(-pid, SIGKILL);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) fail("command '{}': waitpid failed: {}", command, std::strerror(errno));
    if (!r.timed_out && Clock::now() >= deadline) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (r.timed_out) ::kill(-pid, SIGKILL);  // what the shell left behind in its group
  if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (err.size() > err_tail_bytes) err.erase(0, err.size() - err_tail_bytes);
  r.err_tail = std::move(err);
  return r;
}

}  // namespace baimo
