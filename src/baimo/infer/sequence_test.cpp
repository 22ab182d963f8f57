#include "baimo/infer/sequence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/infer/generate.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace sequence_test {
using namespace baimo;

// Byte-level tokenizer: id b = byte b, 256 = <|endoftext|> (eos), 257 = <|im_end|>.
Tokenizer byte_tokenizer() {
  std::vector<std::string> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = std::string(1, static_cast<char>(b));
  Tokenizer t = Tokenizer::from_bpe(PreTokenizerKind::Gpt2, bytes, {}, {{256, "<|endoftext|>", true}, {257, "<|im_end|>", true}});
  t.set_eos_id(256);
  return t;
}

constexpr int64_t kVocab = 258;

std::vector<float> one_hot(int32_t id) {
  std::vector<float> l(kVocab, 0.f);
  l[static_cast<size_t>(id)] = 30.f;
  return l;
}

GenerationOptions greedy(int max_tokens, std::vector<std::string> stop = {}) {
  GenerationOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = max_tokens;
  o.stop = std::move(stop);
  return o;
}

// Forces the given byte string token by token; returns each step.
std::vector<TokenStep> force(Sequence& s, const std::vector<int32_t>& ids) {
  std::vector<TokenStep> steps;
  for (int32_t id : ids) {
    auto l = one_hot(id);
    steps.push_back(s.accept(l));
    EXPECT_EQ(steps.back().id, id);
    if (steps.back().finished) break;
  }
  return steps;
}

std::vector<int32_t> bytes_of(const std::string& s) {
  std::vector<int32_t> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

std::string joined(const std::vector<TokenStep>& steps) {
  std::string s;
  for (const auto& t : steps) s += t.text;
  return s;
}

TEST(Sequence, StopStringIsHeldBackAndNeverStreamed) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {1}, greedy(100, {"STOP", "\n\nUser:"}));
  auto steps = force(s, bytes_of("Hi STx, STOP here"));
  // "ST" of "STx" is held back until "x" shows it is no stop string.
  EXPECT_EQ(steps[3].text, "");  // 'S'
  EXPECT_EQ(steps[4].text, "");  // 'T'
  EXPECT_EQ(steps[5].text, "STx");
  ASSERT_TRUE(steps.back().finished);
  EXPECT_EQ(steps.back().finish_reason, "stop");
  EXPECT_EQ(steps.size(), std::string("Hi STx, STOP").size());
  EXPECT_EQ(joined(steps), "Hi STx, ");
  auto more = one_hot(1);
  EXPECT_THROW(s.accept(more), Error);
}

TEST(Sequence, StopStringSpanningAnAddedToken) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {1}, greedy(100, {"<|im_end|>"}));
  auto steps = force(s, {'o', 'k', '<', 257});  // "ok<" then the special token
  ASSERT_TRUE(steps.back().finished);
  EXPECT_EQ(joined(steps), "ok<");
  EXPECT_EQ(steps[2].text, "");  // '<' could start "<|im_end|>"
}

TEST(Sequence, EosStopsAndIsNotShownUnlessIgnored) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {1}, greedy(100, {"zz"}));
  auto steps = force(s, {'a', 'z', 256});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_TRUE(steps[2].finished);
  EXPECT_EQ(steps[2].finish_reason, "stop");
  EXPECT_EQ(joined(steps), "az");  // the held-back 'z' is flushed, the EOS text is not shown

  GenerationOptions o = greedy(4);
  o.ignore_eos = true;
  Sequence s2(tok, {1}, o);
  auto steps2 = force(s2, {256, 'b', 256, 'c'});
  ASSERT_EQ(steps2.size(), 4u);
  EXPECT_EQ(steps2.back().finish_reason, "length");

  GenerationOptions o3 = greedy(10);
  o3.eos_ids = {'q'};
  Sequence s3(tok, {1}, o3);
  auto steps3 = force(s3, bytes_of("abqd"));
  EXPECT_EQ(steps3.size(), 3u);
  EXPECT_EQ(joined(steps3), "ab");
}

TEST(Sequence, MaxTokensFinishesWithLengthAndFlushes) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {1, 2}, greedy(3, {"xyz"}));
  auto steps = force(s, bytes_of("axy"));
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].text, "");
  EXPECT_TRUE(steps[2].finished);
  EXPECT_EQ(steps[2].finish_reason, "length");
  EXPECT_EQ(joined(steps), "axy");
  EXPECT_EQ(s.tokens(), (std::vector<int32_t>{1, 2, 'a', 'x', 'y'}));
  EXPECT_EQ(s.generated(), 3);
}

TEST(Sequence, Utf8CharacterSplitOverTokensIsEmittedWhole) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {1}, greedy(10));
  auto steps = force(s, bytes_of("中a"));
  EXPECT_EQ(steps[0].text, "");
  EXPECT_EQ(steps[1].text, "");
  EXPECT_EQ(steps[2].text, "中");
  EXPECT_EQ(steps[3].text, "a");
}

TEST(Sequence, LogprobsOfRawLogitsWithTopAlternatives) {
  Tokenizer tok = byte_tokenizer();
  GenerationOptions o = greedy(5);
  o.top_logprobs = 3;
  o.sampling.presence_penalty = 100;  // changes the choice, not the reported log-probs
  Sequence s(tok, {'c'}, o);
  std::vector<float> l(kVocab, 0.f);
  l['a'] = 1.f;
  l['b'] = 2.f;
  l['c'] = 3.f;
  std::vector<float> copy = l;
  TokenStep t = s.accept(l);
  EXPECT_EQ(l, copy);  // the caller's row is untouched
  EXPECT_EQ(t.id, 'b');
  double z = 0;
  for (float x : l) z += std::exp(x);
  EXPECT_NEAR(t.logprob, 2.0 - std::log(z), 1e-5);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].first, 'c');
  EXPECT_EQ(t.top[1].first, 'b');
  EXPECT_EQ(t.top[2].first, 'a');
  EXPECT_NEAR(t.top[0].second, 3.0 - std::log(z), 1e-5);
  double h = 0;  // entropy of the raw distribution: -sum p log p
  for (float x : l) h -= std::exp(x - std::log(z)) * (x - std::log(z));
  EXPECT_NEAR(t.entropy, h, 1e-5);
}

TEST(Sequence, EntropyOfUniformAndOfPeakedLogits) {
  Tokenizer tok = byte_tokenizer();
  Sequence s(tok, {'c'}, greedy(5));
  std::vector<float> l(kVocab, 0.5f);
  EXPECT_NEAR(s.accept(l).entropy, std::log(static_cast<double>(kVocab)), 1e-5);
  l.assign(kVocab, -1e30f);  // all mass on one id (exp underflows to 0 elsewhere)
  l['x'] = 0;
  EXPECT_NEAR(s.accept(l).entropy, 0.0, 1e-7);
}

TEST(Sequence, SameSeedSameTokens) {
  Tokenizer tok = byte_tokenizer();
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 2.f);
  std::vector<std::vector<float>> rows(40, std::vector<float>(kVocab));
  for (auto& r : rows)
    for (auto& x : r) x = nd(rng);
  auto run = [&](uint64_t seed) {
    GenerationOptions o;
    o.max_tokens = 40;
    o.ignore_eos = true;
    o.sampling.temperature = 1.0f;
    o.sampling.top_p = 0.95f;
    o.sampling.seed = seed;
    Sequence s(tok, {1}, o);
    std::vector<int32_t> ids;
    for (auto r : rows) ids.push_back(s.accept(r).id);
    return ids;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

// A model whose vocab_size pads its tokenizer's (Qwen2.5: 151,936 rows, 151,665 tokens): the padded
// rows have no text and are never drawn, greedy or sampled, even when their logits are the largest.
TEST(Sequence, PaddedVocabularyRowsAreNeverDrawn) {
  Tokenizer tok = byte_tokenizer();
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (float temperature : {0.0f, 1.0f, 2.0f}) {
    GenerationOptions o;
    o.max_tokens = 50;
    o.ignore_eos = true;
    o.sampling.temperature = temperature;
    o.sampling.seed = 5;
    Sequence s(tok, {1}, o);
    for (int step = 0; step < 50; ++step) {
      std::vector<float> row(kVocab + 6);
      for (auto& x : row) x = nd(rng);
      for (size_t i = kVocab; i < row.size(); ++i) row[i] = 8.f;  // the padded rows lead
      const std::vector<float> raw = row;
      std::vector<float> probs;
      s.sampling_distribution(row, probs);
      for (size_t i = kVocab; i < probs.size(); ++i) EXPECT_EQ(probs[i], 0.f);
      const TokenStep t = s.accept(row);
      EXPECT_LT(t.id, kVocab) << "temperature " << temperature;
      EXPECT_EQ(row, raw);  // the caller's row is not modified
    }
  }
}

TEST(Sequence, BadOptionsAreErrors) {
  Tokenizer tok = byte_tokenizer();
  EXPECT_THROW(Sequence(tok, {1}, greedy(0)), Error);
  EXPECT_THROW(Sequence(tok, {1}, greedy(5, {""})), Error);
  GenerationOptions o = greedy(5);
  o.sampling.top_p = 0;
  EXPECT_THROW(Sequence(tok, {1}, o), Error);
}

namespace {

Transformer tiny_transformer() {
  ModelConfig c;
  c.vocab_size = kVocab;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.initializer_range = 0.3;
  return Transformer::random(c, 5);
}

std::shared_ptr<const ModelWeights> tiny_model() {
  return std::make_shared<const ModelWeights>(weights_from_transformer(tiny_transformer()));
}

}  // namespace

TEST(Generate, GreedyEqualsArgmaxOfFullForwardForEveryPrefillChunking) {
  Tokenizer tok = byte_tokenizer();
  Transformer model = tiny_transformer();
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(model));
  std::vector<int32_t> prompt = bytes_of("The prompt, 20 bytes");
  // Reference: argmax of Transformer::logits over the growing sequence.
  std::vector<int32_t> seq = prompt, want;
  {
    ag::NoGradGuard ng;
    for (int i = 0; i < 12; ++i) {
      ag::Var l = model.logits(Tensor::from_ids({1, static_cast<int64_t>(seq.size())}, seq));
      const float* row = l.value().data<float>() + (seq.size() - 1) * kVocab;
      int32_t id = static_cast<int32_t>(std::max_element(row, row + kVocab) - row);
      want.push_back(id);
      seq.push_back(id);
    }
  }
  for (int64_t chunk : {1, 3, 512}) {
    Engine engine(w, 1, 64);
    GenerationOptions o = greedy(12);
    o.ignore_eos = true;
    Sequence s(tok, prompt, o);
    int calls = 0;
    GenerateOptions go;
    go.prefill_chunk = chunk;
    GenerateResult r = generate(engine, 0, s, [&](const TokenStep&) { return ++calls > 0; }, go);
    EXPECT_EQ(r.tokens, want) << "chunk " << chunk;
    EXPECT_EQ(calls, 12);
    EXPECT_EQ(r.finish_reason, "length");
    EXPECT_EQ(engine.cache().length(0), static_cast<int64_t>(prompt.size() + 11));
  }
}

TEST(Generate, SeedReproducesAndCancelAndContextEnd) {
  Tokenizer tok = byte_tokenizer();
  auto w = tiny_model();
  auto run = [&](uint64_t seed, int64_t ctx, int stop_after) {
    Engine engine(w, 2, ctx);
    GenerationOptions o;
    o.max_tokens = 30;
    o.ignore_eos = true;
    o.sampling.seed = seed;
    Sequence s(tok, bytes_of("abc"), o);
    int n = 0;
    return generate(engine, 1, s, [&](const TokenStep&) { return ++n < stop_after; });
  };
  GenerateResult a = run(3, 64, 1000), b = run(3, 64, 1000);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.tokens.size(), 30u);
  GenerateResult c = run(3, 64, 5);
  EXPECT_EQ(c.finish_reason, "cancelled");
  EXPECT_EQ(c.tokens, std::vector<int32_t>(a.tokens.begin(), a.tokens.begin() + 5));
  GenerateResult d = run(3, 10, 1000);  // 3 prompt + 7 fed back fill 10 positions
  EXPECT_EQ(d.finish_reason, "length");
  EXPECT_EQ(d.tokens, std::vector<int32_t>(a.tokens.begin(), a.tokens.begin() + 8));
  EXPECT_THROW(run(3, 3, 1000), Error);  // prompt does not fit with room for an answer
}

}  // namespace sequence_test
