#include "baimo/infer/max_tokens.h"

#include <gtest/gtest.h>

using namespace baimo;

TEST(MaxTokens, RoomIsWhatThePromptLeaves) {
  EXPECT_EQ(context_room(100, 40), 60);
  EXPECT_EQ(context_room(100, 100), 0);
  EXPECT_EQ(context_room(100, 120), -20);
}

TEST(MaxTokens, RequestedIsCappedAtTheRoom) {
  EXPECT_EQ(max_tokens_in_context(100, 40, 10), 10);
  EXPECT_EQ(max_tokens_in_context(100, 40, 60), 60);
  EXPECT_EQ(max_tokens_in_context(100, 40, 500), 60);
  EXPECT_EQ(max_tokens_in_context(100, 99, 500), 1);
}

TEST(MaxTokens, NoneRequestedTakesTheFallbackOrTheWholeRoom) {
  EXPECT_EQ(max_tokens_in_context(100, 40, 0), 60);
  EXPECT_EQ(max_tokens_in_context(100, 40, -3), 60);
  EXPECT_EQ(max_tokens_in_context(100, 40, 0, 16), 16);
  EXPECT_EQ(max_tokens_in_context(100, 90, 0, 16), 10);
  // A requested value wins over the fallback.
  EXPECT_EQ(max_tokens_in_context(100, 40, 30, 16), 30);
}

TEST(MaxTokens, AFullContextStillAsksForOneToken) {
  EXPECT_EQ(max_tokens_in_context(100, 100, 0), 1);
  EXPECT_EQ(max_tokens_in_context(100, 100, 5), 1);
  EXPECT_EQ(max_tokens_in_context(100, 130, 0, 16), 1);
}

// chat's room kept for an answer when fitting the history: at most half the context, a quarter
// when --max-tokens is not given (the context halved, no prompt, fallback ctx / 4).
TEST(MaxTokens, ChatAnswerRoom) {
  EXPECT_EQ(max_tokens_in_context(4096 / 2, 0, 0, 4096 / 4), 1024);
  EXPECT_EQ(max_tokens_in_context(4096 / 2, 0, 100, 4096 / 4), 100);
  EXPECT_EQ(max_tokens_in_context(4096 / 2, 0, 5000, 4096 / 4), 2048);
}
