// eval/rewards.h url:URL against a real reward-model ApiServer on 127.0.0.1 (what `baimo serve
// --model RM` runs): POST /v1/rewards takes the body it sends and answers the rewards that
// score_conversations gives, the API key included; a context overflow is the server's message.
#include <gtest/gtest.h>

#include <thread>

#include "baimo/eval/reward_scores.h"
#include "baimo/eval/rewards.h"
#include "baimo/eval/test_reward_model.h"
#include "baimo/serve/api_server.h"
#include "baimo/util/error_of.h"
#include "baimo/util/temp_dir.h"

using namespace baimo;
using namespace baimo::eval;
using json = nlohmann::json;

TEST(RewardsUrlServe, MatchesScoreConversationsThroughV1Rewards) {
  TempDir t("baimo_rewards_serve_");
  const std::string dir = (t.dir / "rm").string();
  test_fixtures::write_tiny_reward_model(dir);
  auto scorer = std::make_shared<const RewardScorer>(load_reward_scorer(dir));
  const ModelConfig& cfg = scorer->config();
  serve::ModelContext mc{scorer->tokenizer.get(), scorer->chat_template, "rm-tiny", 128, cfg.vocab_size, {},
                         cfg.architecture()};
  serve::ServeOptions so;
  so.port = 0;
  so.api_key = "sk-rm";
  serve::ApiServer server(scorer, mc, so);
  const int port = server.bind();
  std::thread th([&] { server.listen(); });

  std::vector<RewardItem> items(3);
  const char* answers[] = {"4", "答案是四。", "Green"};
  for (size_t i = 0; i < 3; ++i) {
    items[i].messages = json::array({{{"role", "user"}, {"content", "What is 2+2? 二加二？"}}});
    items[i].completion = answers[i];
  }
  const std::string url = "url:http://127.0.0.1:" + std::to_string(port) + "/v1/rewards";
  RewardContext ctx;
  ctx.api_key = "sk-rm";
  std::vector<WeightedReward> fns = parse_rewards(std::vector<std::string>{url}, ctx);
  const std::vector<float> got = fns[0].fn->score(items);
  std::vector<std::vector<ChatMessage>> convs;
  for (const char* a : answers) convs.push_back({{"user", "What is 2+2? 二加二？"}, {"assistant", a}});
  const std::vector<float> want = score_conversations(*scorer, convs);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;

  items[1].completion = std::string(300, 'x');  // over the 128-token context
  std::string e = error_of([&] { fns[0].fn->score(items); });
  EXPECT_NE(e.find("HTTP 400: This model's maximum context length is 128 tokens"), std::string::npos) << e;
  std::vector<WeightedReward> no_key = parse_rewards(std::vector<std::string>{url});
  e = error_of([&] { no_key[0].fn->score(items); });
  EXPECT_NE(e.find("HTTP 401"), std::string::npos) << e;

  server.shutdown(std::chrono::seconds(1));
  th.join();
}
