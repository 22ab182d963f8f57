#include "baimo/eval/run_task.h"

#include <gtest/gtest.h>

#include "baimo/eval/builtin_tasks.h"
#include "baimo/eval/test_model.h"

namespace run_task_test {
using namespace baimo;
using namespace baimo::eval;

InferenceModel byte_inference_model() {
  InferenceModel m;
  m.weights = test_fixtures::byte_model(512);
  m.tokenizer = test_fixtures::byte_tokenizer();
  m.chat_template = ChatTemplateKind::Plain;
  m.eos_ids = {256};
  return m;
}
const Metric& find(const TaskResult& r, const std::string& name) {
  for (auto& m : r.metrics)
    if (m.name == name) return m;
  throw std::runtime_error("no metric " + name);
}

// Every example is scored: one without an extractable answer is wrong and counted in no_answer;
// the metrics agree with the per-example log.
TEST(RunTask, GenerationCountsEveryExample) {
  InferenceModel m = byte_inference_model();
  Task t;
  t.name = "mixed";
  t.generation = true;
  for (int i = 0; i < 6; ++i) t.gen_test.push_back({"Say a number " + std::to_string(i), std::to_string(i), ExtractKind::LastNumber, ""});
  t.gen_test.push_back({"Say abc", "abc", ExtractKind::Exact, ""});
  EvalSettings s;
  s.max_tokens = 6;
  s.batch = 3;
  s.limit = 5;
  std::vector<nlohmann::json> log;
  TaskResult r = run_task(m, t, s, [&](const nlohmann::json& j) { log.push_back(j); });
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(r.kind, "generation");
  ASSERT_EQ(log.size(), 5u);
  double none = 0, right = 0, stopped = 0, tokens = 0;
  for (auto& j : log) {
    const auto& smp = j["samples"][0];
    none += smp["extracted"].is_null();
    right += smp["correct"].get<bool>();
    stopped += smp["stopped"].get<bool>();
    tokens += smp["tokens"].get<double>();
    EXPECT_NE(j["prompt"].get<std::string>().find("User: Say a number"), std::string::npos);  // the plain template
  }
  EXPECT_DOUBLE_EQ(find(r, "no_answer").value, none / 5);
  EXPECT_DOUBLE_EQ(find(r, "exact_match").value, right / 5);
  EXPECT_DOUBLE_EQ(find(r, "eos_rate").value, stopped / 5);
  EXPECT_DOUBLE_EQ(find(r, "mean_tokens").value, tokens / 5);
  for (auto& x : r.metrics) EXPECT_EQ(x.n, 5) << x.name;
  for (auto& x : r.metrics) EXPECT_NE(x.name, "eot_rate") << "the plain template has no end-of-turn token";

  // n samples: pass@1, 2, 4 over the examples; eos_rate and mean_tokens over every sample.
  s.samples = 4;
  s.temperature = 1.0f;
  TaskResult k = run_task(m, t, s);
  EXPECT_EQ(find(k, "pass@4").n, 5);
  EXPECT_EQ(find(k, "eos_rate").n, 20);
  EXPECT_LE(find(k, "pass@1").value, find(k, "pass@2").value);
  EXPECT_LE(find(k, "pass@2").value, find(k, "pass@4").value);
}

TEST(RunTask, MultipleChoiceOnABuiltinSuite) {
  InferenceModel m = byte_inference_model();
  Task t = make_builtin_task("arith_mc", 2, 12, 4);
  EvalSettings s;
  s.shots = 2;
  s.batch = 5;
  std::vector<nlohmann::json> log;
  TaskResult r = run_task(m, t, s, [&](const nlohmann::json& j) { log.push_back(j); });
  EXPECT_EQ(r.kind, "multiple_choice");
  ASSERT_EQ(log.size(), 12u);
  double acc = 0;
  for (auto& j : log) acc += j["pred"] == j["gold"];
  EXPECT_DOUBLE_EQ(find(r, "acc").value, acc / 12);
  EXPECT_EQ(find(r, "acc_norm").n, 12);
  // The batch does not change the scores.
  s.batch = 1;
  TaskResult r1 = run_task(m, t, s);
  EXPECT_EQ(find(r1, "acc").value, find(r, "acc").value);
  EXPECT_EQ(find(r1, "acc_norm").value, find(r, "acc_norm").value);
}

}  // namespace run_task_test
