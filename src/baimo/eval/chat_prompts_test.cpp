#include "baimo/eval/chat_prompts.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

namespace chat_prompts_test {
using namespace baimo;
using namespace baimo::eval;

std::string error_of(std::string_view text) {
  try {
    parse_chat_prompts(text, "p.jsonl");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatPrompts, PromptAndMessagesRecords) {
  const auto p = parse_chat_prompts(
      "{\"prompt\": \"Hi?\", \"system\": \"Be brief.\"}\n\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"1+1?\"}, {\"role\": \"assistant\", \"content\": \"2\"},"
      " {\"role\": \"user\", \"content\": \"and 2+2?\"}]}\n",
      "p.jsonl");
  ASSERT_EQ(p.size(), 2u);
  ASSERT_EQ(p[0].messages.size(), 2u);
  EXPECT_EQ(p[0].messages[0].role, "system");
  EXPECT_EQ(p[0].messages[1].content, "Hi?");
  EXPECT_EQ(p[1].messages.size(), 3u);
  EXPECT_EQ(p[1].where, "p.jsonl: record 2, line 3");
  EXPECT_EQ(question_text(p[0].messages), "Hi?");
  EXPECT_EQ(question_text(p[1].messages), "User: 1+1?\n\nAssistant: 2\n\nUser: and 2+2?");
  EXPECT_EQ(parse_chat_prompts("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n", "x", 2).size(), 2u);
}

TEST(ChatPrompts, PreferenceAndSftFiles) {
  const auto pairs = parse_chat_prompts("[{\"prompt\": \"Q?\", \"chosen\": \"good\", \"rejected\": \"bad\"}]", "prefs.json");
  ASSERT_EQ(pairs.size(), 1u);
  ASSERT_EQ(pairs[0].messages.size(), 1u);
  EXPECT_EQ(pairs[0].messages[0].content, "Q?");
  const auto alpaca = parse_chat_prompts("[{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"hi\"}]", "sft.json");
  ASSERT_EQ(alpaca.size(), 1u);
  ASSERT_EQ(alpaca[0].messages.size(), 1u);
  EXPECT_EQ(alpaca[0].messages[0].content, "Say hi");
  // An OpenAI SFT conversation: up to its last assistant turn.
  const auto chat = parse_chat_prompts(
      "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"u1\"},"
      " {\"role\": \"assistant\", \"content\": \"a1\"}, {\"role\": \"user\", \"content\": \"u2\"},"
      " {\"role\": \"assistant\", \"content\": \"a2\"}]}\n",
      "sft.jsonl");
  ASSERT_EQ(chat.size(), 1u);
  ASSERT_EQ(chat[0].messages.size(), 4u);
  EXPECT_EQ(chat[0].messages.back().content, "u2");
}

TEST(ChatPrompts, ErrorsNameFileLineAndField) {
  std::string e = error_of("{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n");
  EXPECT_NE(e.find("p.jsonl: record 2, line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("prompt"), std::string::npos) << e;
  e = error_of("{\"prompt\": \"ok\"}\n{\"question\": \"no\"}\n");
  EXPECT_NE(e.find("record 2, line 2"), std::string::npos) << e;
  e = error_of("{\"prompt\": \"ok\"}\n{not json\n");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  e = error_of("{\"prompt\": \"\"}\n");
  EXPECT_NE(e.find("line 1"), std::string::npos) << e;
  EXPECT_NE(error_of("").find("p.jsonl"), std::string::npos);
}

}  // namespace chat_prompts_test
