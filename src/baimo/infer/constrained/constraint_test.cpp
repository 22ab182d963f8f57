// Token-level masking on the real Qwen2.5 vocabulary (151k byte-level BPE tokens, many ending inside
// a UTF-8 character): the trie walk equals a token-by-token check, masks are cached per state, and
// greedy decoding of a random-weight model under a schema always yields valid JSON.
#include "baimo/infer/constrained/constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "baimo/infer/engine.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/model_weights.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/test_byte_tokenizer.h"
#include "baimo/tokenizer/test_shared.h"

namespace baimo::constrained {
namespace constraint_test {

const char* kSchema = R"({"type":"object","properties":{"name":{"type":"string","maxLength":6},
  "n":{"type":"integer"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"enum":["a","中文"]},"maxItems":3}},
  "required":["name","n","ok","tags"],"additionalProperties":false})";

bool bit(const std::vector<uint64_t>& m, size_t i) { return m[i / 64] >> (i % 64) & 1; }

TEST(Constraint, TrieMaskEqualsTokenByTokenCheckOnQwenVocab) {
  const Tokenizer& tok = test_data::qwen25_tokenizer();
  auto c = Constraint::from_json_schema(kSchema, tok);
  // States: the start, inside the name string (after a partial Chinese character too), in the enum.
  std::vector<std::string> prefixes = {"{\"name\":\"a", "{\"name\":\"ab\",\"n\":1,\"ok\":true,\"tags\":[\"\xE4"};
  for (const auto& p : prefixes) {
    RecognizerState s = start_state(c->grammar());
    ASSERT_TRUE(step_bytes(c->grammar(), s, p)) << p;
    const auto m = c->mask(s);
    size_t allowed = 0;
    for (size_t id = 0; id < tok.vocab_size(); ++id) {
      const auto i = static_cast<uint32_t>(id);
      RecognizerState t = s;
      const bool want = !tok.is_added(i) && !tok.token_bytes(i).empty() && step_bytes(c->grammar(), t, tok.token_bytes(i));
      ASSERT_EQ(bit(*m, id), want) << "prefix " << p << " token " << id << " '" << tok.token_bytes(i) << "'";
      allowed += want;
    }
    EXPECT_GT(allowed, 0u) << p;
    if (p.size() == 10) {
      EXPECT_GT(allowed, 10000u);
    }  // inside a string most of the vocabulary fits
  }
  RecognizerState s0 = start_state(c->grammar());
  EXPECT_EQ(c->mask(s0).get(), c->mask(s0).get());  // cached
}

TEST(Constraint, ApplyKeepsEndIdsOnlyWhenAccepting) {
  auto tok = test_tokenizers::byte_tokenizer();
  auto c = Constraint::from_grammar("root ::= \"ab\" \"c\"?", *tok);
  ConstraintState st(c);
  std::vector<float> logits(257, 1.0f);
  const int32_t eos = 256;
  EXPECT_EQ(st.apply(logits, std::span(&eos, 1)), 1u);
  EXPECT_EQ(logits['a'], 1.0f);
  EXPECT_TRUE(std::isinf(logits['b']) && std::isinf(logits[256]));
  ASSERT_TRUE(st.advance("ab"));
  std::fill(logits.begin(), logits.end(), 1.0f);
  EXPECT_EQ(st.apply(logits, std::span(&eos, 1)), 2u);  // 'c' or the end
  EXPECT_EQ(logits[256], 1.0f);
  EXPECT_FALSE(st.finished());
  ASSERT_TRUE(st.advance("c"));
  EXPECT_TRUE(st.finished());
  EXPECT_FALSE(st.advance("c"));
}

// Sequence with a constraint: greedy over flat logits takes the lowest allowed id; EOS (256) only once
// the text is complete; the sequence ends by itself when nothing may follow.
TEST(Constraint, SequenceEndsWhenNothingMayFollow) {
  auto tok = test_tokenizers::byte_tokenizer();
  GenerationOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = 10;
  o.constraint = Constraint::from_grammar("root ::= \"b\" ([a-c] | \"xyz\")", *tok);
  Sequence seq(*tok, {1}, o);
  std::vector<float> logits(257, 0.0f);
  std::string text;
  for (int i = 0; i < 10 && !seq.finished(); ++i) text += seq.accept(logits).text;
  EXPECT_EQ(text, "ba");
  EXPECT_EQ(seq.finish_reason(), "stop");
  // Optional tail: EOS wins once the text is complete and EOS has the best logit.
  o.constraint = Constraint::from_grammar("root ::= \"b\"+", *tok);
  Sequence seq2(*tok, {1}, o);
  logits[256] = 5;
  text.clear();
  for (int i = 0; i < 10 && !seq2.finished(); ++i) text += seq2.accept(logits).text;
  EXPECT_EQ(text, "b");
  EXPECT_EQ(seq2.tokens().back(), 256);
}

// A random model over the Qwen2.5 vocabulary: greedy and sampled answers under the schema parse
// and hold every required key; generation ends by itself (finish_reason stop).
TEST(Constraint, RandomModelDecodesValidJsonUnderSchema) {
  const Tokenizer& tok = test_data::qwen25_tokenizer();
  ModelConfig cfg;
  cfg.vocab_size = static_cast<int64_t>(tok.vocab_size());
  cfg.hidden_size = 32;
  cfg.intermediate_size = 48;
  cfg.num_hidden_layers = 1;
  cfg.num_attention_heads = 2;
  cfg.num_key_value_heads = 1;
  cfg.head_dim = 16;
  cfg.max_position_embeddings = 256;
  cfg.validate("test");
  auto weights = std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(cfg, 5)));
  Engine engine(weights, 1, 256);
  auto c = Constraint::from_json_schema(kSchema, tok);
  for (float temperature : {0.0f, 1.0f}) {
    GenerationOptions o;
    o.sampling.temperature = temperature;
    o.sampling.seed = 3;
    o.max_tokens = 200;
    o.constraint = c;
    std::vector<int32_t> prompt;
    for (uint32_t id : tok.encode("Answer in JSON:")) prompt.push_back(static_cast<int32_t>(id));
    Sequence seq(tok, prompt, o);
    GenerateResult r;
    try {
      r = generate(engine, 0, seq);
    } catch (const std::exception& e) {
      FAIL() << e.what() << " after " << seq.tokens().size();
    }
    ASSERT_EQ(r.finish_reason, "stop") << r.text;
    nlohmann::json j = nlohmann::json::parse(r.text);
    EXPECT_TRUE(j["name"].is_string() && j["n"].is_number_integer() && j["ok"].is_boolean() && j["tags"].is_array()) << r.text;
    EXPECT_LE(j["tags"].size(), 3u);
  }
}

}  // namespace constraint_test

}  // namespace baimo::constrained
