#include "baimo/tokenizer/add_special_tokens.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "baimo/tokenizer/test_shared.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace add_special_tokens_test {

std::string base_small() { return test_data::shared_dir() + "/models/base-small-zh-en/tokenizer.json"; }

#define NEED_BASE_SMALL() \
  if (!std::filesystem::exists(base_small())) GTEST_SKIP() << "no " << base_small() << " (set BAIMO_SHARED)"

TEST(AddSpecialTokens, ChatMlMarkersGetNewIdsAfterTheVocabulary) {
  NEED_BASE_SMALL();
  // base-small without its ChatML markers: vocab 0..16380, <|endoftext|> 16381.
  nlohmann::json j = nlohmann::json::parse(read_file(base_small()));
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& a : j["added_tokens"])
    if (a["content"] == "<|endoftext|>") kept.push_back(a);
  j["added_tokens"] = kept;
  const Tokenizer before = Tokenizer::from_tokenizer_json(j.dump(), "stripped");
  EXPECT_FALSE(before.token_to_id("<|im_start|>"));
  EXPECT_EQ(missing_special_tokens(before, ChatTemplateKind::ChatML), (std::vector<std::string>{"<|im_start|>", "<|im_end|>"}));

  const std::vector<std::string> markers = chat_template_special_tokens(ChatTemplateKind::ChatML);
  const AddedSpecialTokens out = add_special_tokens(j.dump(), markers, "stripped");
  EXPECT_EQ(out.ids, (std::vector<uint32_t>{16382, 16383}));
  EXPECT_EQ(out.new_ids, 2u);
  const Tokenizer after = Tokenizer::from_tokenizer_json(out.json, "added");
  EXPECT_EQ(after.vocab_size(), 16384u);
  EXPECT_EQ(after.encode("<|im_start|>user\nhi<|im_end|>", Specials::Allow).front(), 16382u);
  EXPECT_EQ(after.encode("<|im_start|>user\nhi<|im_end|>", Specials::Allow).back(), 16383u);
  EXPECT_TRUE(after.is_special(16382));
  EXPECT_TRUE(missing_special_tokens(after, ChatTemplateKind::ChatML).empty());
  EXPECT_EQ(missing_special_tokens(after, ChatTemplateKind::Llama3).size(), 4u);
  const std::vector<ChatMessage> msgs = {{"user", "hi"}, {"assistant", "yo"}};
  const RenderedChat r = render_chat_ids(after, ChatTemplateKind::ChatML, msgs);
  EXPECT_EQ(r.ids.front(), 16382u);
  EXPECT_EQ(r.ids[r.assistant_spans[0].end - 1], 16383u);
  // Normal text is encoded as before.
  EXPECT_EQ(after.encode("hello 你好"), before.encode("hello 你好"));
}

TEST(AddSpecialTokens, ExistingTokensKeepTheirIds) {
  NEED_BASE_SMALL();
  const std::string text = read_file(base_small());
  const Tokenizer base = Tokenizer::from_tokenizer_json(text, "base");
  const std::vector<std::string> want = {"<|im_start|>", "<|eot_id|>", "<|im_end|>", "<|eot_id|>"};
  const AddedSpecialTokens out = add_special_tokens(text, want, "base");
  EXPECT_EQ(out.ids, (std::vector<uint32_t>{16382, 16384, 16383, 16384}));
  EXPECT_EQ(out.new_ids, 1u);
  const Tokenizer after = Tokenizer::from_tokenizer_json(out.json, "after");
  EXPECT_EQ(after.encode("<|eot_id|>", Specials::Allow), (std::vector<uint32_t>{16384}));
  EXPECT_EQ(after.vocab_size(), 16385u);
  // A normal vocabulary token cannot become a special token.
  ASSERT_TRUE(base.token_to_id("the"));
  const std::vector<std::string> normal = {"the"};
  EXPECT_THROW(add_special_tokens(text, normal, "base"), Error);

  // Llama-3 markers for a Llama-3 conversation.
  const auto l3 = add_special_tokens(text, chat_template_special_tokens(ChatTemplateKind::Llama3), "base");
  EXPECT_EQ(l3.ids, (std::vector<uint32_t>{16384, 16385, 16386, 16387}));
  const Tokenizer t3 = Tokenizer::from_tokenizer_json(l3.json, "l3");
  const std::vector<ChatMessage> msgs = {{"user", "hi"}, {"assistant", "yo"}};
  const RenderedChat r = render_chat_ids(t3, ChatTemplateKind::Llama3, msgs);
  EXPECT_EQ(r.ids.front(), 16384u);
  EXPECT_EQ(r.ids.back(), 16387u);
  EXPECT_TRUE(chat_template_special_tokens(ChatTemplateKind::Plain).empty());
}

TEST(AddSpecialTokens, BadInputIsAnError) {
  const std::vector<std::string> t = {"<x>"};
  EXPECT_THROW(add_special_tokens("{", t, "bad.json"), Error);
  EXPECT_THROW(add_special_tokens("{\"model\": {}}", t, "bad.json"), Error);
  const std::vector<std::string> empty = {""};
  EXPECT_THROW(add_special_tokens(R"({"model": {"vocab": {}}})", empty, "bad.json"), Error);
  const std::vector<std::string> not_utf8 = {"<\xE4\xBD>"};
  EXPECT_THROW(add_special_tokens(R"({"model": {"vocab": {}}})", not_utf8, "bad.json"), Error);
}

}  // namespace add_special_tokens_test

}  // namespace baimo
