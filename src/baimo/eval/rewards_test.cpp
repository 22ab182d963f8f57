// Reward functions (eval/rewards.h): the spec parser, the kinds computed from the item (English and
// Chinese text), the in-process reward model against score_conversations, and score_rewards.
#include "baimo/eval/rewards.h"

#include <gtest/gtest.h>

#include "baimo/eval/reward_scores.h"
#include "baimo/eval/test_reward_model.h"
#include "baimo/util/error_of.h"
#include "baimo/util/temp_dir.h"

namespace rewards_test {
using namespace baimo;
using namespace baimo::eval;
using json = nlohmann::json;

RewardItem item(std::string completion, std::string answer = "", bool stopped = false, int64_t tokens = 0) {
  RewardItem it;
  it.prompt = "Q?";
  it.messages = json::array({{{"role", "user"}, {"content", it.prompt}}});
  it.completion = std::move(completion);
  it.answer = std::move(answer);
  it.stopped = stopped;
  it.tokens = tokens;
  return it;
}

std::vector<float> score1(const std::string& spec, const std::vector<RewardItem>& items) {
  std::vector<std::string> specs{spec};
  std::vector<WeightedReward> fns = parse_rewards(specs);
  EXPECT_EQ(fns.size(), 1u);
  return fns[0].fn->score(items);
}

using V = std::vector<float>;

TEST(Rewards, MatchLastNumberEnglishAndChinese) {
  const std::vector<RewardItem> items = {
      item("So the total is 1,234 apples.", "1234"), item("答案是１，２３４元。", "1234"),
      item("It is 3.50 dollars", "3.5"),                item("-5 degrees, not 5", "5"),
      item("I don't know", "7"),                        item("共有 42 个，答案：４２", "42")};
  EXPECT_EQ(score1("match", items), V({1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(score1("match:last_number", items), V({1, 1, 1, 1, 0, 1}));
}

TEST(Rewards, MatchOtherExtractors) {
  EXPECT_EQ(score1("match:exact", {item("  Paris\n", "Paris"), item("巴黎", "巴黎"), item("Paris.", "Paris")}),
            V({1, 1, 0}));
  EXPECT_EQ(score1("match:regex:答案(?::|：)\\s*(\\S+)", {item("推理…… 答案：北京", "北京"), item("答案: 上海", "北京")}),
            V({1, 0}));
  EXPECT_EQ(score1("match:json:result.city", {item(R"(Here: {"result": {"city": "东京"}})", "东京"),
                                              item(R"({"result": {}})", "东京")}),
            V({1, 0}));
  // No reference answer: an error naming the item, never a zero.
  const std::string e = error_of([] { score1("match", {item("4", "4"), item("5", "")}); });
  EXPECT_NE(e.find("item 1 has no reference answer"), std::string::npos) << e;
}

TEST(Rewards, RegexJsonLengthStop) {
  EXPECT_EQ(score1("regex:<think>[\\s\\S]*</think>", {item("<think>嗯\n想想</think>答案"), item("no thinking")}),
            V({1, 0}));
  EXPECT_EQ(score1("regex:答案(是|：)", {item("答案是 5"), item("答案：5"), item("答 5")}), V({1, 1, 0}));
  EXPECT_EQ(score1("json", {item(" {\"a\": 1}\n"), item("```json\n{\"名字\": \"小明\"}\n```"), item("```\n[1, 2]\n```"),
                            item("{\"a\": 1} trailing"), item("Sure! ```json\n{}\n```"), item("")}),
            V({1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(score1("length:100", {item("", "", false, 50), item("", "", false, 100), item("", "", false, 150)}),
            V({0, 0, -0.5f}));
  EXPECT_EQ(score1("stop", {item("a", "", true), item("b", "", false)}), V({1, 0}));
}

TEST(Rewards, ParseWeightsNamesAndErrors) {
  const std::vector<std::string> specs = {"match@2", "stop@-0.5", "regex:a@b", "regex:x", "length:10@1e-1"};
  std::vector<WeightedReward> fns = parse_rewards(specs);
  ASSERT_EQ(fns.size(), 5u);
  EXPECT_EQ(fns[0].weight, 2.0f);
  EXPECT_EQ(fns[1].weight, -0.5f);
  EXPECT_EQ(fns[2].weight, 1.0f);  // "@b" is not a weight: part of the pattern
  EXPECT_EQ(fns[4].weight, 0.1f);
  EXPECT_EQ(fns[2].fn->name(), "regex");
  EXPECT_EQ(fns[3].fn->name(), "regex_2");
  EXPECT_EQ(fns[2].fn->score(std::vector<RewardItem>{item("a@b"), item("ab")}), V({1, 0}));

  auto err = [](const std::string& spec) {
    return error_of([&] { parse_rewards(std::vector<std::string>{spec}); });
  };
  std::string e = err("bleu");
  EXPECT_NE(e.find("unknown reward kind 'bleu'"), std::string::npos) << e;
  EXPECT_NE(e.find("command:CMD"), std::string::npos) << e;
  EXPECT_NE(err("regex:(").find("'(' is not a valid regular expression"), std::string::npos);
  EXPECT_NE(err("match:regex:[").find("not a valid regular expression"), std::string::npos);
  EXPECT_NE(err("match:first").find("unknown extractor 'first'"), std::string::npos);
  EXPECT_NE(err("length:0").find("positive whole number"), std::string::npos);
  EXPECT_NE(err("length:x").find("positive whole number"), std::string::npos);
  EXPECT_NE(err("stop@inf").find("not a finite number"), std::string::npos);
  EXPECT_NE(err("stop:x").find("takes no argument"), std::string::npos);
  EXPECT_NE(err("model:/nonexistent/rm").find("--reward model:/nonexistent/rm"), std::string::npos);
  EXPECT_NE(err("url:ftp://x").find("expected http://"), std::string::npos);
  EXPECT_NE(err("command:").find("give a shell command"), std::string::npos);
}

TEST(Rewards, ScoreRewardsSumsWeightedParts) {
  const std::vector<std::string> specs = {"match@2", "stop@0.5", "length:10@1"};
  std::vector<WeightedReward> fns = parse_rewards(specs);
  const std::vector<RewardItem> items = {item("答案是 7", "7", true, 5), item("8", "7", false, 20)};
  const RewardScores s = score_rewards(fns, items);
  EXPECT_EQ(s.total, V({2.5f, -1.0f}));
  ASSERT_EQ(s.parts.size(), 3u);
  EXPECT_EQ(s.parts[0].first, "match");
  EXPECT_EQ(s.parts[0].second, V({1, 0}));
  EXPECT_EQ(s.parts[2].first, "length");
  EXPECT_EQ(s.parts[2].second, V({0, -1}));
}

TEST(Rewards, ModelKindGivesScoreConversationsNumbers) {
  TempDir t("baimo_rewards_model_");
  const std::string dir = (t.dir / "rm").string();
  test_fixtures::write_tiny_reward_model(dir);
  std::vector<RewardItem> items = {item("4", "4"), item("答案是四。", "4"), item("Hello there")};
  items[2].messages = json::array({{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}});
  RewardContext ctx;
  ctx.batch = 2;
  std::vector<WeightedReward> fns = parse_rewards(std::vector<std::string>{"model:" + dir}, ctx);
  const std::vector<float> got = fns[0].fn->score(items);

  const RewardScorer s = load_reward_scorer(dir, "chatml");
  const std::vector<std::vector<ChatMessage>> convs = {
      {{"user", "Q?"}, {"assistant", "4"}},
      {{"user", "Q?"}, {"assistant", "答案是四。"}},
      {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello there"}}};
  const std::vector<float> want = score_conversations(s, convs, 1);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
  EXPECT_NE(got[0], got[1]);

  items[0].messages = json::array({{{"role", "user"}}});
  const std::string e = error_of([&] { fns[0].fn->score(items); });
  EXPECT_NE(e.find("item 0: messages[0]"), std::string::npos) << e;
}

}  // namespace rewards_test
