#include "baimo/tokenizer/json_vocab_summary.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

using namespace baimo;

TEST(TokenizerVocab, MaxIdOverVocabAndAddedTokens) {
  EXPECT_EQ(tokenizer_json_vocab_size_text(
                R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 7, "c": 3}, "merges": []},
                    "added_tokens": [{"id": 9, "content": "<|im_end|>"}, {"id": 2, "content": "<s>"}]})",
                "t.json"),
            10);
  EXPECT_EQ(tokenizer_json_vocab_size_text(R"({"model": {"vocab": {"a": 0, "b": 4}}, "added_tokens": []})", "t"), 5);
  EXPECT_EQ(tokenizer_json_vocab_size_text(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0], ["b", -1.0]]}})", "t"),
            2);
}

TEST(TokenizerVocab, FindsBeginAndEndOfTextTokens) {
  auto s = tokenizer_json_summary_text(
      R"({"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": 5, "content": "<|im_end|>"},
          {"id": 4, "content": "<|endoftext|>"}, {"id": 3, "content": "<|im_start|>"}]})",
      "t");
  EXPECT_EQ(s.vocab_size, 6);
  EXPECT_FALSE(s.bos_id);
  EXPECT_EQ(s.eos_ids, (std::vector<int64_t>{4, 5}));
  s = tokenizer_json_summary_text(
      R"({"model": {"vocab": {"<s>": 1, "</s>": 2, "x": 3}}, "added_tokens": [{"id": 1, "content": "<s>"},
          {"id": 2, "content": "</s>"}]})",
      "t");
  EXPECT_EQ(s.bos_id, 1);
  EXPECT_EQ(s.eos_ids, std::vector<int64_t>{2});
}

TEST(TokenizerVocab, BadFilesNameTheField) {
  for (const char* bad : {"{", R"({"model": {}})", R"({"model": {"vocab": {"a": -1}}})",
                          R"({"model": {"vocab": {"a": "x"}}})", R"({"model": {"vocab": {}}, "added_tokens": [{}]})",
                          R"({"model": {"vocab": {}}})", R"({"model": {"vocab": 3}})", "[9e999]"}) {
    try {
      tokenizer_json_vocab_size_text(bad, "tok/tokenizer.json");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tok/tokenizer.json"), std::string::npos) << e.what();
    }
  }
}
