// Exact ids against the reference vectors in $BAIMO_SHARED/vectors (see its README.md).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "baimo/tokenizer/test_shared.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace tokenizer_vectors_test {
using namespace baimo;
using nlohmann::json;

const Tokenizer& cl100k() {
  static Tokenizer t = Tokenizer::from_tiktoken_file(test_data::vectors_dir() + "/cl100k_base.tiktoken", PreTokenizerKind::Cl100k);
  return t;
}
const Tokenizer& o200k() {
  static Tokenizer t = Tokenizer::from_tiktoken_file(test_data::vectors_dir() + "/o200k_base.tiktoken", PreTokenizerKind::O200k);
  return t;
}
const Tokenizer& qwen() {
  static Tokenizer t = Tokenizer::from_tokenizer_json_file(test_data::vectors_dir() + "/qwen2_5/tokenizer.json");
  return t;
}
const Tokenizer& llama3() {
  static Tokenizer t = Tokenizer::from_tokenizer_json_file(test_data::vectors_dir() + "/llama3/tokenizer.json");
  return t;
}

std::vector<json> read_jsonl(const std::string& name) {
  std::string text = read_file(test_data::vectors_dir() + "/" + name);
  std::vector<json> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) e = text.size();
    if (e > pos) out.push_back(json::parse(text.substr(pos, e - pos)));
    pos = e + 1;
  }
  return out;
}

std::string show(const std::vector<uint32_t>& v) {
  std::string s;
  for (uint32_t x : v) s += std::to_string(x) + ",";
  return s;
}

// Returns the number of exact matches; every mismatch is reported.
size_t check_file(const Tokenizer& tok, const std::string& file, Specials specials) {
  auto rows = read_jsonl(file);
  EXPECT_GT(rows.size(), 0u) << file;
  size_t ok = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string text = rows[i]["text"].get<std::string>();
    auto want = rows[i]["ids"].get<std::vector<uint32_t>>();
    auto got = tok.encode(text, specials);
    if (got == want) {
      ++ok;
    } else {
      ADD_FAILURE() << file << " row " << i + 1 << " text " << json(text).dump() << "\n want " << show(want) << "\n got  " << show(got);
    }
    bool roundtrip = !rows[i].contains("decode_roundtrip") || rows[i]["decode_roundtrip"].get<bool>();
    if (roundtrip && tok.normalizer() == Normalizer::None) {
      EXPECT_EQ(tok.decode(want), text) << file << " row " << i + 1;
    }
  }
  std::printf("[vectors] %s: %zu / %zu exact\n", file.c_str(), ok, rows.size());
  return ok;
}

TEST(TokenizerVectors, Cl100k) { EXPECT_EQ(check_file(cl100k(), "vectors_cl100k.jsonl", Specials::AsText), 435u); }
TEST(TokenizerVectors, O200k) { EXPECT_EQ(check_file(o200k(), "vectors_o200k.jsonl", Specials::AsText), 435u); }
TEST(TokenizerVectors, Cl100kSpecial) { EXPECT_EQ(check_file(cl100k(), "vectors_cl100k_special.jsonl", Specials::Allow), 10u); }
TEST(TokenizerVectors, O200kSpecial) { EXPECT_EQ(check_file(o200k(), "vectors_o200k_special.jsonl", Specials::Allow), 10u); }
TEST(TokenizerVectors, Qwen25) { EXPECT_EQ(check_file(qwen(), "vectors_qwen2_5.jsonl", Specials::Allow), 435u); }
TEST(TokenizerVectors, Llama3) { EXPECT_EQ(check_file(llama3(), "vectors_llama3.jsonl", Specials::Allow), 435u); }

TEST(TokenizerVectors, SpecialHandlingModes) {
  const Tokenizer& t = cl100k();
  EXPECT_EQ(t.encode("a<|endoftext|>", Specials::Allow), (std::vector<uint32_t>{64, 100257}));
  EXPECT_NE(t.encode("a<|endoftext|>", Specials::AsText), t.encode("a<|endoftext|>", Specials::Allow));
  EXPECT_THROW(t.encode("a<|endoftext|>", Specials::Raise), Error);
  EXPECT_EQ(t.encode("x", Specials::Raise), t.encode("x"));
  // allowed set: only <|fim_prefix|> recognised; the others raise or become text
  auto ids = t.encode("<|fim_prefix|><|endoftext|>", {"<|fim_prefix|>"}, false);
  EXPECT_EQ(ids.front(), 100258u);
  EXPECT_EQ(t.decode(ids), "<|fim_prefix|><|endoftext|>");
  EXPECT_THROW(t.encode("<|fim_prefix|><|endoftext|>", {"<|fim_prefix|>"}, true), Error);
  EXPECT_EQ(t.eos_id(), 100257u);
  EXPECT_EQ(llama3().bos_id(), 128000u);
  EXPECT_EQ(qwen().eos_id(), qwen().token_to_id("<|im_end|>").value_or(0));
}

TEST(TokenizerVectors, O200kByteOrderMarkIsNotWhiteSpace) {
  EXPECT_EQ(o200k().encode("\xEF\xBB\xBF\xEF\xBB\xBF" "a"), (std::vector<uint32_t>{135153, 64}));
}

}  // namespace tokenizer_vectors_test
