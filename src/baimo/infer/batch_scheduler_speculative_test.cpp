// BatchScheduler with --draft-ngram or a draft model: greedy sequences in several slots equal one-slot
// plain generate(), drafts were checked and accepted, the context end and max_tokens are respected;
// a draft model identical to the target has every sampled draft accepted (its q rows line up with its
// drafts); a bad draft_k or n-gram length, or both kinds of draft, are refused.
#include <gtest/gtest.h>

#include <random>

#include "baimo/infer/batch_scheduler.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/rollout_test_util.h"
#include "baimo/util/error_of.h"

namespace batch_scheduler_speculative_test {
using namespace baimo;
using namespace baimo::rollout_testing;

std::vector<int32_t> plain_greedy(const std::shared_ptr<const ModelWeights>& w, const Tokenizer& tok,
                                  const std::vector<int32_t>& prompt, const GenerationOptions& o, int64_t ctx) {
  Engine engine(w, 1, ctx);
  Sequence seq(tok, prompt, o);
  std::vector<int32_t> out;
  generate(engine, 0, seq, [&](const TokenStep& t) {
    if (t.id >= 0) out.push_back(t.id);
    return true;
  });
  return out;
}

std::vector<int32_t> drain(RequestChannel& ch) {
  std::vector<int32_t> out;
  std::vector<SeqEvent> events;
  while (ch.wait(events, std::chrono::milliseconds(2000))) {
    for (auto& e : events)
      if (e.step.id >= 0) out.push_back(e.step.id);
    events.clear();
  }
  EXPECT_EQ(ch.error(), "");
  return out;
}

std::vector<std::vector<int32_t>> random_prompts(int n, std::mt19937& rng) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p(1 + rng() % 12);
    for (auto& t : p) t = static_cast<int32_t>(97 + rng() % 3);
    prompts.push_back(p);
  }
  return prompts;
}

// Runs the prompts greedily through a scheduler with `so` (ctx 64; odd prompts 30 tokens, even ones
// 100: into the end of the context) and checks every answer equals one-slot plain generate(). Returns
// the scheduler for its counters.
std::unique_ptr<BatchScheduler> expect_plain_greedy(const std::shared_ptr<const ModelWeights>& w,
                                                    const std::shared_ptr<const Tokenizer>& tok, SchedulerOptions so,
                                                    const std::vector<std::vector<int32_t>>& prompts) {
  so.ctx = 64;
  auto s = std::make_unique<BatchScheduler>(w, tok, so);
  std::vector<std::shared_ptr<RequestChannel>> chans;
  std::vector<GenerationOptions> opts;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationOptions o;
    o.sampling.temperature = 0;
    o.ignore_eos = true;
    o.max_tokens = i % 2 ? 30 : 100;
    opts.push_back(o);
    chans.push_back(s->submit(prompts[i], o));
    EXPECT_NE(chans.back(), nullptr);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationOptions o = opts[i];
    o.max_tokens = std::min<int>(o.max_tokens, 64 - static_cast<int>(prompts[i].size()));  // as submit() caps it
    if (!chans[i]) continue;
    EXPECT_EQ(drain(*chans[i]), plain_greedy(w, *tok, prompts[i], o, 64)) << "slots " << so.n_slots << " prompt " << i;
  }
  return s;
}

TEST(SchedulerSpeculative, GreedyNgramDraftsEqualPlainDecodingInEverySlot) {
  ModelConfig c = tiny_config();
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, 71)));
  auto tok = byte_tokenizer();
  std::mt19937 rng(5);
  const auto prompts = random_prompts(6, rng);
  for (int slots : {1, 3}) {
    SchedulerOptions so;
    so.n_slots = slots;
    so.draft_ngram = 2;
    so.draft_k = 6;
    const auto s = expect_plain_greedy(w, tok, so, prompts);
    EXPECT_GT(s->drafted_tokens(), 0);
    EXPECT_GT(s->accepted_tokens(), 0);
    EXPECT_GT(s->decoded_tokens(), s->decode_passes());  // more than one token per pass on average
    EXPECT_TRUE(s->speculative());
  }
}

TEST(SchedulerSpeculative, GreedyModelDraftsEqualPlainDecodingInEverySlot) {
  ModelConfig c = tiny_config();
  Transformer target = Transformer::random(c, 72);
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(target));
  auto tok = byte_tokenizer();
  std::mt19937 rng(6);
  const auto prompts = random_prompts(6, rng);
  // A close draft (the target in Q8_0: most drafts accepted) and an unrelated one (most rejected).
  const std::shared_ptr<const ModelWeights> drafts[] = {
      std::make_shared<const ModelWeights>(weights_from_transformer(target, DType::Q8_0)),
      std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, 9)))};
  for (const auto& draft : drafts) {
    for (int slots : {1, 3}) {
      SchedulerOptions so;
      so.n_slots = slots;
      so.draft_model = draft;
      so.draft_k = 5;
      const auto s = expect_plain_greedy(w, tok, so, prompts);
      EXPECT_TRUE(s->speculative());
      EXPECT_GT(s->drafted_tokens(), 0);
      if (draft == drafts[0]) {
        EXPECT_GT(s->decoded_tokens(), 2 * s->decode_passes()) << "slots " << slots;
      }
    }
  }
}

TEST(SchedulerSpeculative, SampledDraftsOfTheTargetItselfAreAllAccepted) {
  Transformer target = Transformer::random(tiny_config(), 73);
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(target));
  auto tok = byte_tokenizer();
  std::mt19937 rng(7);
  const auto prompts = random_prompts(4, rng);
  SchedulerOptions so;
  so.n_slots = 2;
  so.ctx = 64;
  so.draft_model = w;  // q == p at every position: min(1, p/q) = 1
  so.draft_k = 4;
  BatchScheduler s(w, tok, so);
  std::vector<std::shared_ptr<RequestChannel>> chans;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationOptions o;
    o.sampling.temperature = 0.9f;
    o.sampling.top_p = 0.95f;
    o.sampling.repetition_penalty = 1.1f;
    o.sampling.seed = 100 + i;
    o.ignore_eos = true;
    o.max_tokens = 24;
    chans.push_back(s.submit(prompts[i], o));
  }
  for (auto& ch : chans) EXPECT_EQ(drain(*ch).size(), 24u);
  EXPECT_GT(s.drafted_tokens(), 0);
  EXPECT_EQ(s.accepted_tokens(), s.drafted_tokens());
}

TEST(SchedulerSpeculative, BadDraftSettingsAreClearErrors) {
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(tiny_config(), 1)));
  auto tok = byte_tokenizer();
  SchedulerOptions so;
  so.n_slots = 1;
  so.ctx = 32;
  so.draft_ngram = 2;
  so.draft_k = 0;
  EXPECT_NE(error_of([&] { BatchScheduler s(w, tok, so); }).find("--draft-k must be between 1 and 15"), std::string::npos);
  so.draft_ngram = -1;
  so.draft_k = 4;
  EXPECT_NE(error_of([&] { BatchScheduler s(w, tok, so); }).find("--draft-ngram must be at least 1"), std::string::npos);
  so.draft_ngram = 2;
  so.draft_model = w;
  EXPECT_NE(error_of([&] { BatchScheduler s(w, tok, so); }).find("two kinds of draft"), std::string::npos);
  so.draft_ngram = 0;
  so.draft_k = 16;
  EXPECT_NE(error_of([&] { BatchScheduler s(w, tok, so); }).find("--draft-k must be between 1 and 15"), std::string::npos);
}

}  // namespace batch_scheduler_speculative_test
