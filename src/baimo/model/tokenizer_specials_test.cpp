#include "baimo/model/tokenizer_specials.h"

#include <gtest/gtest.h>

using namespace baimo;

TEST(TokenizerSpecials, TheTokenizersIdsReplaceTheTemplatesWithANote) {
  ModelConfig cfg;
  cfg.bos_token_id = 1;
  cfg.eos_token_ids = {2};
  TokenizerJsonSummary tok;
  tok.vocab_size = 4096;
  tok.eos_ids = {4093};
  auto notes = take_tokenizer_specials(cfg, tok, "tiny.json", "tokenizer.json");
  EXPECT_FALSE(cfg.bos_token_id.has_value());
  ASSERT_EQ(cfg.eos_token_ids, std::vector<int64_t>{4093});
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], "tiny.json: bos_token_id 1 replaced by tokenizer.json's none");
  EXPECT_EQ(notes[1], "tiny.json: eos_token_id 2 replaced by tokenizer.json's 4093");
  // Agreeing ids: no note.
  EXPECT_TRUE(take_tokenizer_specials(cfg, tok, "tiny.json", "tokenizer.json").empty());
  tok.bos_id = 4092;
  tok.eos_ids = {4093, 4094};
  notes = take_tokenizer_specials(cfg, tok, "c", "t");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1], "c: eos_token_id 4093 replaced by t's [4093, 4094]");
  EXPECT_EQ(cfg.bos_token_id, 4092);
}
