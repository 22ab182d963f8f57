// run_shell: runs `/bin/sh -c command` with `input` on its stdin and collects its stdout and the tail
// of its stderr. For callbacks that hand work to a user's program (eval/rewards.h command:CMD).
// Contract:
// - The child gets the parent's environment and working directory, stdin/stdout/stderr as pipes
//   (no other descriptor: the pipes are close-on-exec), and its own process group.
// - stdin is written while stdout and stderr are read (one poll loop), so neither side blocks the
//   other however large the input and output; stdin is closed once written. A child that exits or
//   closes stdin before reading everything is not an error here (its exit status tells); the
//   parent never gets SIGPIPE.
// - timeout: when the child has not exited (and closed its output) within it, its whole process
//   group is killed (SIGKILL) and reaped; the result says timed_out.
// - Failures to start it (pipe, spawn) are baimo::Error naming the command. A non-zero exit is not
//   an error here: the caller reads exit_status / signal.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace baimo {

struct ShellResult {
  int exit_status = 0;    // when it exited normally
  int signal = 0;         // non-zero: killed by this signal (SIGKILL after a timeout)
  bool timed_out = false;
  std::string out;        // all of stdout
  std::string err_tail;   // the last err_tail_bytes of stderr
  bool ok() const { return !timed_out && signal == 0 && exit_status == 0; }
};

ShellResult run_shell(const std::string& command, std::string_view input, std::chrono::milliseconds timeout,
                      size_t err_tail_bytes = 2000);

}  // namespace baimo
