// POST /v1/rewards bodies (serve/openai_request.h parse_reward_request).
#include <gtest/gtest.h>

#include "baimo/serve/api_error.h"
#include "baimo/serve/openai_request.h"

namespace reward_request_test {
using namespace baimo::serve;

// The ApiError of parsing `body` (fails the test when it parses).
ApiError error_of(const std::string& body) {
  try {
    parse_reward_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed: " << body;
  return ApiError(0, "", "");
}

TEST(RewardRequest, OneConversationOrSeveral) {
  RewardRequest r = parse_reward_request(
      R"({"model": "rm", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})");
  EXPECT_EQ(r.model, "rm");
  ASSERT_EQ(r.conversations.size(), 1u);
  EXPECT_EQ(r.conversations[0][1].role, "assistant");
  EXPECT_EQ(r.conversations[0][1].content, "b");
  r = parse_reward_request(R"({"input": [[{"role": "user", "content": "a"}], [{"role": "developer", "content": "s"},
                                         {"role": "user", "content": [{"type": "text", "text": "x"}]}]], "user": "u"})");
  ASSERT_EQ(r.conversations.size(), 2u);
  EXPECT_EQ(r.conversations[1][0].role, "system");
  EXPECT_EQ(r.conversations[1][1].content, "x");
  // eval/rewards.h url:URL sends its items beside the conversations: accepted, not used.
  r = parse_reward_request(R"({"items": [{"completion": "b"}], "input": [[{"role": "assistant", "content": "b"}]]})");
  ASSERT_EQ(r.conversations.size(), 1u);
  EXPECT_EQ(error_of(R"({"items": 1, "input": [[{"role": "user", "content": "a"}]]})").param, "items");
}

TEST(RewardRequest, ErrorsNameTheField) {
  EXPECT_EQ(error_of("{").code, "invalid_json");
  EXPECT_EQ(error_of("[]").code, "invalid_json");
  EXPECT_EQ(error_of(R"({"model": "rm"})").code, "missing_required_parameter");
  EXPECT_EQ(error_of(R"({"messages": []})").param, "messages");
  EXPECT_EQ(error_of(R"({"input": []})").param, "input");
  EXPECT_EQ(error_of(R"({"input": [[{"role": "user", "content": "a"}], 5]})").param, "input[1]");
  EXPECT_EQ(error_of(R"({"input": [[{"role": "user", "content": "a"}, {"role": "bot", "content": "a"}]]})").param,
            "input[0][1].role");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "a"}], "input": [[{"role": "user", "content": "a"}]]})")
                .param,
            "input");
  ApiError e = error_of(R"({"messages": [{"role": "user", "content": "a"}], "temperature": 0})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "unknown_parameter");
  EXPECT_EQ(e.param, "temperature");
  std::string many = R"({"input": [)";
  for (size_t i = 0; i <= kMaxRewardConversations; ++i) many += std::string(i ? "," : "") + R"([{"role": "user", "content": "a"}])";
  EXPECT_EQ(error_of(many + "]}").param, "input");
}

}  // namespace reward_request_test
