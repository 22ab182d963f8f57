#include "baimo/infer/batch_scheduler.h"

#include <gtest/gtest.h>

#include "baimo/infer/engine.h"
#include "baimo/infer/model_weights.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/test_byte_tokenizer.h"
#include "baimo/util/error.h"

namespace baimo {
namespace batch_scheduler_test {

// A random tiny model over the byte-level tokenizer (tokenizer/test_byte_tokenizer.h).
using baimo::test_tokenizers::byte_tokenizer;

std::shared_ptr<const ModelWeights> tiny_model(int64_t max_positions = 512) {
  ModelConfig c;
  c.vocab_size = 257;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = max_positions;
  c.eos_token_ids = {256};
  c.validate("test");
  return std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, 11)));
}

struct SchedulerTest : ::testing::Test {
  static void SetUpTestSuite() {
    model = tiny_model();
    tok = byte_tokenizer();
  }
  static inline std::shared_ptr<const ModelWeights> model;
  static inline std::shared_ptr<const Tokenizer> tok;

  static std::vector<int32_t> ids(const std::string& s) {
    std::vector<int32_t> out;
    for (uint32_t id : tok->encode(s)) out.push_back(static_cast<int32_t>(id));
    return out;
  }
  static GenerationOptions greedy(int max_tokens) {
    GenerationOptions o;
    o.sampling.temperature = 0;
    o.max_tokens = max_tokens;
    o.ignore_eos = true;
    return o;
  }
  // Every sequence's token ids, read until the request is over.
  static std::vector<std::vector<int32_t>> drain(RequestChannel& ch, int n) {
    std::vector<std::vector<int32_t>> out(n);
    std::vector<SeqEvent> events;
    while (ch.wait(events, std::chrono::milliseconds(2000))) {
      for (auto& e : events) out[e.index].push_back(e.step.id);
      events.clear();
    }
    EXPECT_EQ(ch.error(), "");
    return out;
  }
  // Requests that must still be running when the test acts on them: this tiny model decodes 400
  // tokens in a few milliseconds, less than a preempted test thread may take to act; 16000 tokens
  // in a 16K-position context take it far longer.
  static constexpr int kLong = 16000;
  static SchedulerOptions long_opts(int slots) {
    SchedulerOptions o = opts(slots);
    o.ctx = 16384;
    return o;
  }
  static std::shared_ptr<const ModelWeights> long_model() {
    static const std::shared_ptr<const ModelWeights> m = tiny_model(16384);
    return m;
  }
  static SchedulerOptions opts(int slots, int64_t prefill_chunk = 64) {
    SchedulerOptions o;
    o.n_slots = slots;
    o.ctx = 512;
    o.max_queue = 16;
    o.prefill_chunk = prefill_chunk;
    o.step_tokens = 96;
    return o;
  }
};

TEST_F(SchedulerTest, GreedyAloneEqualsBatched) {
  const std::vector<std::string> prompts = {"Hello", "你好，世界！这是一个比较长的提示。", "a",
                                            std::string(300, 'x') + " long prompt over several prefill chunks"};
  std::vector<std::vector<int32_t>> alone;
  {
    BatchScheduler s(model, tok, opts(1));
    for (const auto& p : prompts) alone.push_back(drain(*s.submit(ids(p), greedy(12)), 1)[0]);
  }
  BatchScheduler s(model, tok, opts(4));
  std::vector<std::shared_ptr<RequestChannel>> chans;
  for (const auto& p : prompts) chans.push_back(s.submit(ids(p), greedy(12)));
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto got = drain(*chans[i], 1)[0];
    EXPECT_EQ(got.size(), 12u);
    EXPECT_EQ(got, alone[i]) << "prompt " << i;
  }
  EXPECT_EQ(s.active_slots(), 0);
}

TEST_F(SchedulerTest, PrefixReuseAndSiblingsGiveTheSameTokens) {
  const std::string system = std::string(120, 's') + " shared system prompt ";
  std::vector<int32_t> expect_a, expect_b;
  {
    BatchScheduler fresh(model, tok, opts(1));
    expect_a = drain(*fresh.submit(ids(system + "question A"), greedy(10)), 1)[0];
  }
  {
    BatchScheduler fresh(model, tok, opts(1));
    expect_b = drain(*fresh.submit(ids(system + "question B"), greedy(10)), 1)[0];
  }
  BatchScheduler s(model, tok, opts(2));
  EXPECT_EQ(drain(*s.submit(ids(system + "question A"), greedy(10)), 1)[0], expect_a);
  const int64_t before = s.reused_prompt_tokens();
  EXPECT_EQ(drain(*s.submit(ids(system + "question B"), greedy(10)), 1)[0], expect_b);
  EXPECT_GE(s.reused_prompt_tokens() - before, static_cast<int64_t>(ids(system).size()));
  // n = 3 greedy siblings: identical answers, the later ones copy the first one's prompt.
  const int64_t before_n = s.reused_prompt_tokens();
  auto three = drain(*s.submit(ids("another prompt, long enough to be worth sharing: " + std::string(80, 'y')), greedy(8), 3), 3);
  EXPECT_EQ(three[0], three[1]);
  EXPECT_EQ(three[0], three[2]);
  EXPECT_GT(s.reused_prompt_tokens() - before_n, 80);
}

TEST_F(SchedulerTest, SeedsPerSiblingDiffer) {
  BatchScheduler s(model, tok, opts(2));
  GenerationOptions o = greedy(16);
  o.sampling.temperature = 1.5f;
  o.sampling.seed = 5;
  auto a = drain(*s.submit(ids("sample"), o, 2), 2);
  auto b = drain(*s.submit(ids("sample"), o, 2), 2);
  EXPECT_EQ(a, b);           // same seed, same tokens
  EXPECT_NE(a[0], a[1]);     // sibling i samples with seed + i
}

TEST_F(SchedulerTest, CancelFreesTheSlotAtOnce) {
  BatchScheduler s(long_model(), tok, long_opts(1));
  auto ch = s.submit(ids("go on and on"), greedy(kLong));
  std::vector<SeqEvent> events;
  while (events.size() < 3) ASSERT_TRUE(ch->wait(events, std::chrono::milliseconds(2000)));
  ch->cancel();
  while (ch->wait(events, std::chrono::milliseconds(2000))) {
  }
  EXPECT_LT(events.size(), static_cast<size_t>(kLong));
  EXPECT_EQ(ch->error(), "cancelled");
  // The single slot serves the next request.
  EXPECT_EQ(drain(*s.submit(ids("next"), greedy(4)), 1)[0].size(), 4u);
  EXPECT_EQ(s.active_slots(), 0);
}

TEST_F(SchedulerTest, FullQueueRefusesAndStopFailsOpenRequests) {
  SchedulerOptions o = long_opts(1);
  o.max_queue = 1;
  auto s = std::make_unique<BatchScheduler>(long_model(), tok, o);
  auto a = s->submit(ids("first"), greedy(kLong));
  auto b = s->submit(ids("second"), greedy(kLong));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(s->submit(ids("third"), greedy(kLong)), nullptr);
  s->stop();
  std::vector<SeqEvent> events;
  while (b->wait(events, std::chrono::milliseconds(2000))) {
  }
  EXPECT_NE(b->error().find("shutting down"), std::string::npos);
  EXPECT_EQ(s->submit(ids("late"), greedy(3)), nullptr);
}

TEST_F(SchedulerTest, PromptLogprobsMatchOneForwardAndMaxTokensZeroGeneratesNothing) {
  const std::vector<int32_t> prompt = ids(std::string(150, 'p') + " scored over several prefill chunks");
  Engine engine(model, 1, 512);
  std::vector<float> logits;
  std::vector<Engine::Chunk> one = {{0, prompt, true}};
  engine.forward(one, logits);
  const size_t V = 257;
  BatchScheduler s(model, tok, opts(2));
  drain(*s.submit(ids(std::string(150, 'p')), greedy(2)), 1);  // a cached prefix that must not be reused
  GenerationOptions o = greedy(0);
  o.prompt_logprobs = true;
  o.top_logprobs = 2;
  auto ch = s.submit(prompt, o, 2);
  std::vector<SeqEvent> events;
  while (ch->wait(events, std::chrono::milliseconds(2000))) {
  }
  EXPECT_EQ(ch->error(), "");
  ASSERT_EQ(events.size(), 2u);  // one end event per sequence, no token
  for (const SeqEvent& e : events) {
    EXPECT_EQ(e.step.id, -1);
    EXPECT_TRUE(e.step.finished);
    EXPECT_EQ(e.step.finish_reason, "length");
  }
  const std::vector<PromptLogprob> lps = ch->prompt_logprobs();
  ASSERT_EQ(lps.size(), prompt.size());
  for (size_t i = 1; i < prompt.size(); ++i) {
    PromptLogprob want = token_logprob(std::span<const float>(logits.data() + (i - 1) * V, V), prompt[i], 2);
    EXPECT_NEAR(lps[i].logprob, want.logprob, 1e-4) << i;
    ASSERT_EQ(lps[i].top.size(), 2u);
  }
  // With tokens to generate, the answer is the one without prompt log-probs.
  o.max_tokens = 5;
  auto with = drain(*s.submit(prompt, o), 1)[0];
  EXPECT_EQ(with, drain(*s.submit(prompt, greedy(5)), 1)[0]);
  EXPECT_THROW(s.submit(prompt, greedy(0)), Error);
}

TEST_F(SchedulerTest, MaxTokensCappedByContext) {
  SchedulerOptions o = opts(1);
  o.ctx = 24;
  BatchScheduler s(model, tok, o);
  auto out = drain(*s.submit(ids("0123456789"), greedy(1000)), 1)[0];
  EXPECT_EQ(out.size(), 14u);  // ctx - prompt
  EXPECT_THROW(s.submit(ids(std::string(30, 'z')), greedy(1)), Error);
}

}  // namespace batch_scheduler_test

}  // namespace baimo
