// BatchScheduler with --draft-ngram: greedy sequences in several slots equal one-slot plain
// generate(), drafts were checked and accepted, the context end and max_tokens are respected, a bad
// draft_k or n-gram length is refused.
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

TEST(SchedulerSpeculative, GreedyNgramDraftsEqualPlainDecodingInEverySlot) {
  ModelConfig c = tiny_config();
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, 71)));
  auto tok = byte_tokenizer();
  std::mt19937 rng(5);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 6; ++i) {
    std::vector<int32_t> p(1 + rng() % 12);
    for (auto& t : p) t = static_cast<int32_t>(97 + rng() % 3);
    prompts.push_back(p);
  }
  for (int slots : {1, 3}) {
    SchedulerOptions so;
    so.n_slots = slots;
    so.ctx = 64;
    so.draft_ngram = 2;
    so.draft_k = 6;
    BatchScheduler s(w, tok, so);
    std::vector<std::shared_ptr<RequestChannel>> chans;
    std::vector<GenerationOptions> opts;
    for (size_t i = 0; i < prompts.size(); ++i) {
      GenerationOptions o;
      o.sampling.temperature = 0;
      o.ignore_eos = true;
      o.max_tokens = i % 2 ? 30 : 100;  // 100: runs into the end of the 64-position context
      opts.push_back(o);
      chans.push_back(s.submit(prompts[i], o));
      ASSERT_NE(chans.back(), nullptr);
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      GenerationOptions o = opts[i];
      o.max_tokens = std::min<int>(o.max_tokens, 64 - static_cast<int>(prompts[i].size()));  // as submit() caps it
      EXPECT_EQ(drain(*chans[i]), plain_greedy(w, *tok, prompts[i], o, 64)) << "slots " << slots << " prompt " << i;
    }
    EXPECT_GT(s.drafted_tokens(), 0);
    EXPECT_GT(s.accepted_tokens(), 0);
    EXPECT_GT(s.decoded_tokens(), s.decode_passes());  // more than one token per pass on average
    EXPECT_TRUE(s.speculative());
  }
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
}

}  // namespace batch_scheduler_speculative_test
