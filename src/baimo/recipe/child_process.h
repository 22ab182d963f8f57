// ChildProcess: runs a program (argv[0] a path) with stdout and stderr on one pipe that a reader
// thread drains line by line: every byte goes to `log_path` (appended, created when missing) and every
// line (split at '\n' or '\r', without them) to on_line, called on the reader thread.
// Contract:
// - The child gets the parent's environment and working directory, stdin /dev/null, its own process
//   group, and dies with its parent (PR_SET_PDEATHSIG SIGKILL: a `kill -9` of the recipe leaves no
//   training process behind).
// - wait(): joins the reader (all output seen) and reaps the child; exit status or signal.
// - running(): false once the child has exited (then reaped; wait() still joins the reader).
// - signal(sig): sends sig to the child's process group (no-op once reaped).
// - Failures to start it (pipe, fork, exec, the log file) are baimo::Error naming the program.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace baimo::recipe {

struct ChildExit {
  int exit_status = 0;  // when it exited normally
  int signal = 0;       // non-zero: killed by this signal
  bool ok() const { return signal == 0 && exit_status == 0; }
};

class ChildProcess {
 public:
  using LineFn = std::function<void(std::string_view line)>;
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path, LineFn on_line);
  ~ChildProcess();  // kills (SIGKILL) and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ChildExit wait();
  bool running();  // not exited yet (reaps it when it has)
  void signal(int sig);
  pid_t pid() const { return pid_; }

 private:
  void reap(bool block);
  pid_t pid_ = -1;
  bool reaped_ = false;
  ChildExit exit_;
  std::thread reader_;
};

}  // namespace baimo::recipe
