// Tokenizer::add_bos(): read from a tokenizer.json post_processor (TemplateProcessing, alone or in a
// Sequence) and from tokenizer_config.json's add_bos_token (which wins), written back by
// to_tokenizer_json, and clear errors when the BOS it names does not exist.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace tokenizer_add_bos_test {
using namespace baimo;
using json = nlohmann::json;

// 256 byte tokens, then <s> (256) and <|begin_of_text|> (257) as special added tokens.
Tokenizer bytes_and_bos() {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  return Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {},
                             {{256, "<s>", true}, {257, "<|begin_of_text|>", true}});
}

// bytes_and_bos() as tokenizer.json with `post_processor` replaced.
std::string with_post_processor(const json& pp) {
  json j = json::parse(bytes_and_bos().to_tokenizer_json());
  j["post_processor"] = pp;
  return j.dump();
}

// Llama-3's post_processor: Sequence[ByteLevel, TemplateProcessing "<|begin_of_text|> $A"].
json llama3_post_processor(const std::string& bos, uint32_t id) {
  json special = {{"SpecialToken", {{"id", bos}, {"type_id", 0}}}};
  json text = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};
  json tp = {{"type", "TemplateProcessing"}, {"single", json::array({special, text})}, {"pair", json::array()}};
  tp["special_tokens"][bos] = {{"id", bos}, {"ids", json::array({id})}, {"tokens", json::array({bos})}};
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  return {{"type", "Sequence"}, {"processors", json::array({byte_level, tp})}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TokenizerAddBos, DefaultsToFalseAndByteLevelPostProcessorKeepsIt) {
  Tokenizer t = bytes_and_bos();
  EXPECT_FALSE(t.add_bos());
  Tokenizer u = Tokenizer::from_tokenizer_json(t.to_tokenizer_json(), "plain.json");
  EXPECT_FALSE(u.add_bos());
  EXPECT_FALSE(u.bos_id());
}

TEST(TokenizerAddBos, TemplateProcessingGivesAddBosAndTheBosId) {
  Tokenizer t = Tokenizer::from_tokenizer_json(with_post_processor(llama3_post_processor("<|begin_of_text|>", 257)),
                                               "llama3.json");
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.bos_id(), 257u);
  // A bare TemplateProcessing whose special_tokens lack the ids: the added token of that content.
  json bare = llama3_post_processor("<s>", 256)["processors"][1];
  bare.erase("special_tokens");
  Tokenizer b = Tokenizer::from_tokenizer_json(with_post_processor(bare), "bare.json");
  EXPECT_TRUE(b.add_bos());
  EXPECT_EQ(b.bos_id(), 256u);
  // A template that starts with the text adds nothing in front.
  json tail = bare;
  tail["single"] = json::array({bare["single"][1], bare["single"][0]});
  EXPECT_FALSE(Tokenizer::from_tokenizer_json(with_post_processor(tail), "tail.json").add_bos());
}

TEST(TokenizerAddBos, SavedTokenizerJsonKeepsIt) {
  Tokenizer t = bytes_and_bos();
  t.set_bos_id(256);
  t.set_add_bos(true);
  const std::string saved = t.to_tokenizer_json();
  const json pp = json::parse(saved)["post_processor"];
  ASSERT_EQ(pp["type"], "Sequence");
  EXPECT_EQ(pp["processors"][1]["single"][0]["SpecialToken"]["id"], "<s>");
  EXPECT_EQ(pp["processors"][1]["single"].size(), 2u);
  EXPECT_EQ(pp["processors"][1]["pair"].size(), 4u);
  EXPECT_EQ(pp["processors"][1]["special_tokens"]["<s>"]["ids"], json::array({256}));
  EXPECT_EQ(pp["processors"][1]["special_tokens"]["<s>"]["tokens"], json::array({"<s>"}));
  Tokenizer u = Tokenizer::from_tokenizer_json(saved, "saved.json");
  EXPECT_TRUE(u.add_bos());
  EXPECT_EQ(u.bos_id(), 256u);
  // add_bos without a bos id is not written (nothing to prepend).
  Tokenizer v = bytes_and_bos();
  v.set_add_bos(true);
  EXPECT_FALSE(Tokenizer::from_tokenizer_json(v.to_tokenizer_json(), "v.json").add_bos());
}

TEST(TokenizerAddBos, TokenizerConfigAddBosTokenWins) {
  TempDir d("baimo_add_bos_");
  const std::string llama3 = with_post_processor(llama3_post_processor("<|begin_of_text|>", 257));
  const std::string plain = bytes_and_bos().to_tokenizer_json();
  // Llama-2 style: a ByteLevel post_processor, add_bos_token true in tokenizer_config.json.
  std::string p = d.file("tokenizer.json", plain);
  d.file("tokenizer_config.json", R"({"bos_token": "<s>", "add_bos_token": true})");
  Tokenizer a = Tokenizer::from_tokenizer_json_file(p);
  EXPECT_TRUE(a.add_bos());
  EXPECT_EQ(a.bos_id(), 256u);
  // add_bos_token false switches the template's BOS off; the config's bos_token still names it.
  d.file("tokenizer.json", llama3);
  d.file("tokenizer_config.json", R"({"bos_token": {"content": "<s>"}, "add_bos_token": false})");
  Tokenizer b = Tokenizer::from_tokenizer_json_file(p);
  EXPECT_FALSE(b.add_bos());
  EXPECT_EQ(b.bos_id(), 256u);
  // No add_bos_token (Llama-3's tokenizer_config.json): the template decides; no bos_token keeps the template's.
  d.file("tokenizer_config.json", R"({"eos_token": "<s>"})");
  Tokenizer c = Tokenizer::from_tokenizer_json_file(p);
  EXPECT_TRUE(c.add_bos());
  EXPECT_EQ(c.bos_id(), 257u);
}

TEST(TokenizerAddBos, ClearErrors) {
  TempDir d("baimo_add_bos_err_");
  std::string p = d.file("tokenizer.json", bytes_and_bos().to_tokenizer_json());
  d.file("tokenizer_config.json", R"({"add_bos_token": true})");
  EXPECT_NE(error_of([&] { Tokenizer::from_tokenizer_json_file(p); }).find("bos_token names no token"),
            std::string::npos);
  d.file("tokenizer_config.json", R"({"bos_token": "<s>", "add_bos_token": "yes"})");
  EXPECT_NE(error_of([&] { Tokenizer::from_tokenizer_json_file(p); }).find("add_bos_token must be true or false"),
            std::string::npos);
  json bad = llama3_post_processor("<bos>", 999)["processors"][1];
  bad.erase("special_tokens");
  EXPECT_NE(error_of([&] { Tokenizer::from_tokenizer_json(with_post_processor(bad), "bad.json"); })
                .find("post_processor prepends \"<bos>\""),
            std::string::npos);
  json ids = llama3_post_processor("<s>", 999);  // an id beyond the vocabulary
  EXPECT_NE(error_of([&] { Tokenizer::from_tokenizer_json(with_post_processor(ids), "ids.json"); })
                .find("not a token of this vocabulary"),
            std::string::npos);
}

}  // namespace tokenizer_add_bos_test
