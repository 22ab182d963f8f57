#include "baimo/eval/builtin_tasks.h"

#include <gtest/gtest.h>

#include <set>

#include "baimo/eval/extract.h"
#include "baimo/eval/prompts.h"
#include "baimo/util/error.h"

namespace builtin_tasks_test {
using namespace baimo;
using namespace baimo::eval;

std::string key(const Task& t, size_t i, bool dev) {
  if (t.generation) {
    const GenExample& e = dev ? t.gen_dev[i] : t.gen_test[i];
    return e.prompt + "|" + e.answer;
  }
  const McExample& e = dev ? t.mc_dev[i] : t.mc_test[i];
  std::string s = e.context + "|" + std::to_string(e.gold);
  for (auto& c : e.choices) s += "|" + c;
  return s;
}

TEST(BuiltinTasks, DeterministicHeldOutAndValid) {
  for (const std::string& name : builtin_task_names()) {
    Task a = make_builtin_task(name, 7, 60, 20), b = make_builtin_task(name, 7, 60, 20);
    Task c = make_builtin_task(name, 8, 60, 20);
    ASSERT_EQ(a.size(), 60u) << name;
    ASSERT_EQ(a.generation, name.find("_gen") != std::string::npos) << name;
    const size_t dev = a.generation ? a.gen_dev.size() : a.mc_dev.size();
    EXPECT_EQ(dev, 20u) << name;
    bool differs = false;
    std::set<std::string> test_prompts;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(key(a, i, false), key(b, i, false)) << name;  // same seed, same examples
      differs |= key(a, i, false) != key(c, i, false);
      test_prompts.insert(a.generation ? a.gen_test[i].prompt : a.mc_test[i].context);
      if (a.generation) {
        // The reference answer passes its own extractor.
        EXPECT_TRUE(check_answer(a.gen_test[i], a.gen_test[i].answer).correct) << name << " " << i;
      } else {
        const McExample& e = a.mc_test[i];
        ASSERT_GE(e.choices.size(), 2u);
        ASSERT_LT(static_cast<size_t>(e.gold), e.choices.size());
        std::set<std::string> uniq(e.choices.begin(), e.choices.end());
        EXPECT_EQ(uniq.size(), e.choices.size()) << name << ": choices repeat";
      }
    }
    EXPECT_TRUE(differs) << name << ": another seed gives other examples";
    EXPECT_EQ(test_prompts.size(), a.size()) << name << ": test examples are distinct";
    for (size_t i = 0; i < dev; ++i)  // held out: no dev example is a test question
      EXPECT_FALSE(test_prompts.count(a.generation ? a.gen_dev[i].prompt : a.mc_dev[i].context)) << name;
  }
}

TEST(BuiltinTasks, Content) {
  Task t = make_builtin_task("arith_gen", 1, 5, 2);
  int a = 0, b = 0;
  ASSERT_EQ(std::sscanf(t.gen_test[0].prompt.c_str(), "What is %d + %d?", &a, &b), 2);
  EXPECT_EQ(t.gen_test[0].answer, std::to_string(a + b));
  Task mc = make_builtin_task("arith_mc", 1, 20, 2);
  for (const McExample& e : mc.mc_test) {  // the gold choice is the sum, the others are not
    ASSERT_EQ(std::sscanf(e.context.c_str(), "Question: What is %d + %d?", &a, &b), 2);
    for (size_t k = 0; k < e.choices.size(); ++k)
      EXPECT_EQ(e.choices[k] == " " + std::to_string(a + b), static_cast<int>(k) == e.gold) << e.context;
  }
  Task zh = make_builtin_task("arith_mc_zh", 1, 5, 2);
  EXPECT_NE(zh.mc_test[0].context.find("加"), std::string::npos);
  EXPECT_EQ(zh.mc_test[0].choices.size(), 4u);
  Task rev = make_builtin_task("reverse_gen_zh", 1, 5, 2);
  EXPECT_EQ(rev.gen_test[0].prompt.rfind("把下面的字倒过来写：", 0), 0u);
  EXPECT_THROW(make_builtin_task("nope", 1), Error);
}

TEST(BuiltinTasks, ShotsComeFromDevAndAreDeterministic) {
  Task t = make_builtin_task("arith_mc", 3, 10, 8);
  EXPECT_EQ(mc_context(t, 0, 3, 5), mc_context(t, 0, 3, 5));
  const std::string c = mc_context(t, 2, 3, 5);
  EXPECT_EQ(c.substr(c.size() - t.mc_test[2].context.size()), t.mc_test[2].context);
  size_t blocks = 0;
  for (size_t p = c.find("\n\n"); p != std::string::npos; p = c.find("\n\n", p + 2)) ++blocks;
  EXPECT_EQ(blocks, 3u);
  auto s = pick_shots(0, 5, 2, 10, 1);  // no dev split: the other test examples, never 2 itself
  EXPECT_EQ(s.size(), 4u);
  for (size_t k : s) EXPECT_NE(k, 2u);
  std::set<size_t> uniq(s.begin(), s.end());
  EXPECT_EQ(uniq.size(), 4u);
}

}  // namespace builtin_tasks_test
