// The command:CMD reward kind (eval/rewards.h) with real shell commands: the JSON lines it writes,
// large batches (no pipe deadlock), and each error: exit status, non-number, line count, timeout.
#include <gtest/gtest.h>

#include <chrono>

#include "baimo/eval/rewards.h"
#include "baimo/util/error_of.h"

namespace reward_command_test {
using namespace baimo;
using namespace baimo::eval;
using json = nlohmann::json;

std::unique_ptr<RewardFunction> command(const std::string& cmd, double timeout_s = 300) {
  RewardContext ctx;
  ctx.timeout_s = timeout_s;
  std::vector<WeightedReward> fns = parse_rewards(std::vector<std::string>{"command:" + cmd}, ctx);
  return std::move(fns[0].fn);
}

std::vector<RewardItem> items(size_t n) {
  const char* texts[] = {"答案是１，２３４", "The answer is 42.", "", "a\nb \"quoted\""};
  std::vector<RewardItem> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].prompt = "问题 " + std::to_string(i);
    v[i].messages = json::array({{{"role", "user"}, {"content", v[i].prompt}}});
    v[i].completion = texts[i % 4];
    v[i].answer = "1234";
    v[i].stopped = i % 2 == 0;
    v[i].tokens = static_cast<int64_t>(i);
  }
  return v;
}

// Prints, per item, the completion's length in characters (+ tokens/1000, stopped/10): every field read.
const char* kPy =
    "python3 -c 'import json, sys\n"
    "for l in sys.stdin:\n"
    "  o = json.loads(l)\n"
    "  assert o[\"messages\"][0][\"content\"] == o[\"prompt\"] and o[\"answer\"] == \"1234\"\n"
    "  print(len(o[\"completion\"]) + o[\"tokens\"] / 1000 + (0.1 if o[\"stopped\"] else 0))'";

TEST(RewardCommand, ReadsOneJsonObjectPerLineAndPrintsOneNumberPerItem) {
  const std::vector<float> s = command(kPy)->score(items(4));
  ASSERT_EQ(s.size(), 4u);
  EXPECT_NEAR(s[0], 8 + 0.1, 1e-5);  // "答案是１，２３４": 8 characters
  EXPECT_NEAR(s[1], 17 + 0.001, 1e-5);
  EXPECT_NEAR(s[2], 0 + 0.002 + 0.1, 1e-5);
  EXPECT_NEAR(s[3], 12 + 0.003, 1e-5);
  // awk, and spaces / CRLF around the numbers.
  EXPECT_EQ(command("awk '{ printf \" %d \\r\\n\", NR * 2 }'")->score(items(3)), std::vector<float>({2, 4, 6}));
  EXPECT_TRUE(command("exit 3")->score({}).empty());  // nothing to score: not run
}

TEST(RewardCommand, LargeBatchesDoNotDeadlock) {
  // The command answers as it reads (its output fills the pipe before all input is written), or
  // exits without reading its ~4 MB input (our writes then hit a closed pipe: EPIPE, no SIGPIPE).
  std::vector<RewardItem> big = items(20000);
  for (auto& it : big) it.completion += std::string(200, 'x');
  EXPECT_EQ(command("awk '{ print 1 }'")->score(big).size(), big.size());
  EXPECT_EQ(command("sleep 0.2; yes 0.5 | head -n 20000")->score(big).size(), big.size());
}

TEST(RewardCommand, ErrorsNameTheCommand) {
  std::string e = error_of([] { command("echo boom >&2; exit 3")->score(items(2)); });
  EXPECT_NE(e.find("reward command 'echo boom >&2; exit 3' exited with status 3"), std::string::npos) << e;
  EXPECT_NE(e.find("boom"), std::string::npos) << e;
  e = error_of([] { command("cat >/dev/null; echo 1; echo abc")->score(items(2)); });
  EXPECT_NE(e.find("line 2 of its output is not a finite number: 'abc'"), std::string::npos) << e;
  e = error_of([] { command("echo nan; echo 1")->score(items(2)); });
  EXPECT_NE(e.find("line 1 of its output is not a finite number: 'nan'"), std::string::npos) << e;
  e = error_of([] { command("echo 1")->score(items(3)); });
  EXPECT_NE(e.find("printed 1 lines for 3 items"), std::string::npos) << e;
  e = error_of([] { command("for i in 1 2 3 4; do echo $i; done")->score(items(3)); });
  EXPECT_NE(e.find("printed 4 lines for 3 items"), std::string::npos) << e;
  const auto t0 = std::chrono::steady_clock::now();
  e = error_of([] { command("sleep 30; echo 1", 0.3)->score(items(1)); });
  EXPECT_NE(e.find("did not finish within 0.3 s (killed)"), std::string::npos) << e;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace reward_command_test
