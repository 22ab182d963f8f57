// ChildProcess: a real child (/bin/sh) whose output reaches the log and the line callback in order,
// '\r'-separated progress redraws split into lines, exit status and signals reported, signal() reaching
// the child, and a program that cannot start failing with the program's name.
#include "baimo/recipe/child_process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <mutex>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace child_process_test {
using namespace baimo;
using namespace baimo::recipe;

struct Lines {
  std::mutex mu;
  std::vector<std::string> all;
  ChildProcess::LineFn fn() {
    return [this](std::string_view l) {
      std::lock_guard lock(mu);
      all.emplace_back(l);
    };
  }
};

TEST(ChildProcess, OutputReachesLogAndLines) {
  TempDir dir("child");
  const std::string log = dir.dir.string() + "/x.log";
  write_file_atomic(log, "before\n");
  Lines lines;
  ChildProcess c({"/bin/sh", "-c", "echo one; printf 'step 1\\rstep 2\\r'; echo two >&2; printf tail; exit 3"}, log,
                 lines.fn());
  const ChildExit e = c.wait();
  EXPECT_EQ(e.exit_status, 3);
  EXPECT_EQ(e.signal, 0);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(lines.all, (std::vector<std::string>{"one", "step 1", "step 2", "two", "tail"}));
  EXPECT_EQ(read_file(log), "before\none\nstep 1\rstep 2\rtwo\ntail");  // appended, bytes as written
  EXPECT_FALSE(c.running());
}

TEST(ChildProcess, SignalReachesTheChild) {
  TempDir dir("child");
  Lines lines;
  ChildProcess c({"/bin/sh", "-c", "echo ready; exec sleep 30"}, dir.dir.string() + "/x.log", lines.fn());
  EXPECT_TRUE(c.running());
  c.signal(SIGTERM);
  const ChildExit e = c.wait();
  EXPECT_EQ(e.signal, SIGTERM);
  EXPECT_FALSE(c.running());
}

TEST(ChildProcess, ExitZeroIsOk) {
  TempDir dir("child");
  ChildProcess c({"/bin/true"}, dir.dir.string() + "/x.log", nullptr);
  EXPECT_TRUE(c.wait().ok());
}

TEST(ChildProcess, ProgramThatCannotStartExits127) {
  TempDir dir("child");
  Lines lines;
  ChildProcess c({"/no/such/program"}, dir.dir.string() + "/x.log", lines.fn());
  EXPECT_EQ(c.wait().exit_status, 127);
  ASSERT_FALSE(lines.all.empty());
  EXPECT_NE(lines.all[0].find("exec failed"), std::string::npos);
}

TEST(ChildProcess, UnwritableLogIsAnErrorNamingIt) {
  try {
    ChildProcess c({"/bin/true"}, "/proc/no/such/dir/x.log", nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/no/such/dir/x.log"), std::string::npos);
  }
}

}  // namespace child_process_test
