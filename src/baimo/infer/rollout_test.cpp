// generate_rollouts: model log-probs equal the training forward's token_logprobs; sampling log-probs
// equal log_softmax(logits / T) (0 under top_k = 1 and greedy); seeds give the same samples whatever
// the slots; greedy equals one-at-a-time generate(); k samples share one prefill; bad prompts name
// their index.
#include "baimo/infer/rollout.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/infer/engine.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/rollout_test_util.h"
#include "baimo/util/error_of.h"

namespace rollout_test {
using namespace baimo;
using namespace baimo::rollout_testing;

std::vector<std::vector<int32_t>> some_prompts() {
  return {{72, 105, 33}, {65}, {84, 104, 101, 32, 99, 97, 116, 32, 115, 97, 116}};
}

struct Fixture {
  Transformer model = Transformer::random(tiny_config(), 21);
  std::shared_ptr<const ModelWeights> weights = std::make_shared<const ModelWeights>(live_weights(model));
  std::shared_ptr<const Tokenizer> tok = byte_tokenizer();
};

RolloutOptions options(int slots, int samples, float temperature) {
  RolloutOptions o;
  o.slots = slots;
  o.ctx = 64;
  o.max_new_tokens = 12;
  o.samples = samples;
  o.temperature = temperature;
  o.seed = 5;
  return o;
}

TEST(Rollout, ModelLogprobsEqualTrainingTokenLogprobs) {
  Fixture f;
  const auto prompts = some_prompts();
  const auto got = generate_rollouts(f.weights, f.tok, prompts, options(4, 2, 1.0f));
  ASSERT_EQ(got.size(), prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    ASSERT_EQ(got[p].size(), 2u);
    for (const RolloutSample& s : got[p]) {
      ASSERT_FALSE(s.tokens.empty());
      ASSERT_EQ(s.model_logprobs.size(), s.tokens.size());
      ASSERT_EQ(s.logprobs.size(), s.tokens.size());
      const std::vector<float> want = training_logprobs(f.model, prompts[p], s.tokens);
      for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(s.model_logprobs[t], want[t], 1e-4f) << p << " " << t;
      // Temperature 1, no truncation: the sampling distribution is the model's.
      for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(s.logprobs[t], want[t], 1e-4f) << p << " " << t;
      EXPECT_EQ(s.stopped, s.tokens.back() == 256);
      if (!s.stopped) {
        EXPECT_EQ(s.tokens.size(), 12u);
      }
    }
  }
}

TEST(Rollout, SamplingLogprobsAreLogSoftmaxOfTemperedLogits) {
  Fixture f;
  const auto prompts = some_prompts();
  const float T = 0.7f;
  const auto got = generate_rollouts(f.weights, f.tok, prompts, options(3, 2, T));
  for (size_t p = 0; p < prompts.size(); ++p)
    for (const RolloutSample& s : got[p]) {
      std::vector<int32_t> all = prompts[p];
      all.insert(all.end(), s.tokens.begin(), s.tokens.end() - 1);
      const int64_t n = static_cast<int64_t>(all.size()), V = 257;
      ag::NoGradGuard no_grad;
      const Tensor logits = f.model.logits(Tensor::from_ids({1, n}, all)).value();
      for (size_t t = 0; t < s.tokens.size(); ++t) {
        const float* row = logits.data<float>() + (n - static_cast<int64_t>(s.tokens.size()) + static_cast<int64_t>(t)) * V;
        double z = 0, mx = -1e30;
        for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]) / T);
        for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] / T - mx);
        const double want = row[s.tokens[t]] / T - mx - std::log(z);
        EXPECT_NEAR(s.logprobs[t], want, 1e-4) << p << " " << t;
      }
    }
  RolloutOptions k1 = options(3, 2, T);
  k1.top_k = 1;
  for (const auto& samples : generate_rollouts(f.weights, f.tok, prompts, k1))
    for (const RolloutSample& s : samples)
      for (float lp : s.logprobs) EXPECT_EQ(lp, 0.0f);
  for (const auto& samples : generate_rollouts(f.weights, f.tok, prompts, options(3, 1, 0.0f)))
    for (const RolloutSample& s : samples)
      for (float lp : s.logprobs) EXPECT_EQ(lp, 0.0f);
}

TEST(Rollout, SameSeedSameSamplesWhateverTheSlots) {
  Fixture f;
  const auto prompts = some_prompts();
  RolloutOptions o = options(1, 3, 1.0f);
  o.top_p = 0.9f;
  const auto want = generate_rollouts(f.weights, f.tok, prompts, o);
  for (int slots : {2, 5, 16}) {
    o.slots = slots;
    const auto got = generate_rollouts(f.weights, f.tok, prompts, o);
    for (size_t p = 0; p < prompts.size(); ++p)
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[p][i].tokens, want[p][i].tokens) << "slots " << slots << " prompt " << p << " sample " << i;
        EXPECT_EQ(got[p][i].text, want[p][i].text);
        for (size_t t = 0; t < want[p][i].logprobs.size(); ++t)
          EXPECT_NEAR(got[p][i].logprobs[t], want[p][i].logprobs[t], 1e-5f);
      }
  }
}

TEST(Rollout, GreedyEqualsOneSequenceAtATime) {
  Fixture f;
  const auto prompts = some_prompts();
  RolloutOptions o = options(8, 1, 0.0f);
  o.stop = {"\n"};
  const auto got = generate_rollouts(f.weights, f.tok, prompts, o);
  Engine engine(f.weights, 1, o.ctx);
  for (size_t p = 0; p < prompts.size(); ++p) {
    engine.cache().truncate(0, 0);
    GenerationOptions g;
    g.sampling.temperature = 0;
    g.max_tokens = o.max_new_tokens;
    g.stop = o.stop;
    Sequence seq(*f.tok, prompts[p], g);
    const GenerateResult r = generate(engine, 0, seq);
    EXPECT_EQ(got[p][0].tokens, r.tokens) << p;
    EXPECT_EQ(got[p][0].text, r.text) << p;
    EXPECT_EQ(got[p][0].stopped, r.finish_reason == "stop") << p;
  }
}

TEST(Rollout, SamplesOfAPromptShareItsPrefill) {
  Fixture f;
  std::vector<std::vector<int32_t>> prompts = {std::vector<int32_t>(40, 97)};
  for (int i = 0; i < 40; ++i) prompts[0][static_cast<size_t>(i)] = 97 + i % 20;
  RolloutStats stats;
  int64_t done = 0;
  const auto got =
      generate_rollouts(f.weights, f.tok, prompts, options(4, 4, 1.0f), [&](int64_t d) { done = d; }, &stats);
  EXPECT_EQ(done, 1);
  ASSERT_EQ(got[0].size(), 4u);
  EXPECT_EQ(stats.prompt_tokens, 4 * 40);
  // The three later samples copy the first one's K/V (all but at most the last prompt token each).
  EXPECT_GE(stats.reused_prompt_tokens, 3 * 39);
  int64_t generated = 0;
  for (const RolloutSample& s : got[0]) generated += static_cast<int64_t>(s.tokens.size());
  EXPECT_EQ(stats.generated_tokens, generated);
}

TEST(Rollout, BadPromptsNameTheirIndex) {
  Fixture f;
  std::vector<std::vector<int32_t>> empty = {{65}, {}};
  EXPECT_NE(error_of([&] { generate_rollouts(f.weights, f.tok, empty, options(2, 1, 1.0f)); }).find("prompt 1 "),
            std::string::npos);
  std::vector<std::vector<int32_t>> too_long = {{65}, {66}, std::vector<int32_t>(64, 65)};
  const std::string e = error_of([&] { generate_rollouts(f.weights, f.tok, too_long, options(2, 1, 1.0f)); });
  EXPECT_NE(e.find("prompt 2 has 64 tokens"), std::string::npos) << e;
  RolloutOptions zero = options(2, 0, 1.0f);
  EXPECT_NE(error_of([&] { generate_rollouts(f.weights, f.tok, empty, zero); }).find("samples"), std::string::npos);
}

}  // namespace rollout_test
