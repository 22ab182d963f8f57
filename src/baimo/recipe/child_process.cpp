#include "baimo/recipe/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "baimo/util/error.h"

namespace baimo::recipe {

namespace {

// Splits a byte stream into lines at '\n' and '\r' (a progress bar's redraw is a line too).
class LineSplitter {
 public:
  explicit LineSplitter(const ChildProcess::LineFn& fn) : fn_(fn) {}
  void push(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] == '\n' || p[i] == '\r') {
        flush();
      } else {
        line_ += p[i];
      }
    }
  }
  void flush() {
    if (!line_.empty() && fn_) fn_(line_);
    line_.clear();
  }

 private:
  const ChildProcess::LineFn& fn_;
  std::string line_;
};

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path, LineFn on_line) {
  if (argv.empty()) fail("no program to run");
  const std::string& prog = argv[0];
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) fail("{}: cannot open the log: {}", log_path, std::strerror(errno));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    ::close(log_fd);
    fail("{}: cannot create a pipe: {}", prog, std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(p[0]);
    ::close(p[1]);
    ::close(log_fd);
    fail("{}: cannot fork: {}", prog, std::strerror(errno));
  }
  if (pid_ == 0) {  // the child: only async-signal-safe calls until exec
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::setpgid(0, 0);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    ::execv(prog.c_str(), args.data());
    const char msg[] = "baimo recipe: exec failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also here: no race with signal() before the child ran
  ::close(p[1]);
  const int read_fd = p[0];
  reader_ = std::thread([read_fd, log_fd, fn = std::move(on_line)] {
    LineSplitter lines(fn);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(read_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(log_fd, buf + done, static_cast<size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;  // a full disk loses log bytes, never the child's output to on_line
        done += w;
      }
      lines.push(buf, static_cast<size_t>(n));
    }
    lines.flush();
    ::close(read_fd);
    ::close(log_fd);
  });
}

void ChildProcess::reap(bool block) {
  if (reaped_) return;
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r != pid_) return;
  reaped_ = true;
  if (WIFEXITED(status)) exit_.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit_.signal = WTERMSIG(status);
}

bool ChildProcess::running() {
  reap(false);
  return !reaped_;
}

ChildExit ChildProcess::wait() {
  if (reader_.joinable()) reader_.join();
  reap(true);
  return exit_;
}

void ChildProcess::signal(int sig) {
  if (!reaped_ && pid_ > 0) ::kill(-pid_, sig);
}

ChildProcess::~ChildProcess() {
  if (!reaped_) signal(SIGKILL);
  try {
    wait();
  } catch (...) {
  }
}

}  // namespace baimo::recipe
