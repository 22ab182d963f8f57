#include "baimo/train/objectives/distill.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "baimo/infer/live_weights.h"
#include "baimo/train/objectives/rl_test_util.h"

namespace baimo::train {
namespace distill_test {
using rl_testing::byte_config;
using rl_testing::metric;

// Byte conversations: a prompt of 3..6 bytes, then an answer of 4 bytes (mask 1).
std::vector<SftExample> conversations(size_t n) {
  std::vector<SftExample> out;
  const auto prompts = rl_testing::prompts(n, 5);
  for (size_t i = 0; i < n; ++i) {
    SftExample e{prompts[i], std::vector<uint8_t>(prompts[i].size(), 0), i};
    for (int32_t a : {'a', 'b', 'c', 'd'}) e.ids.push_back(a), e.mask.push_back(1);
    out.push_back(std::move(e));
  }
  return out;
}

struct Models {
  Transformer student = Transformer::random(byte_config(), 1);
  Transformer teacher = Transformer::random(byte_config(), 2);
  std::vector<SftExample> train = conversations(12);
  std::shared_ptr<const Tokenizer> tok = rl_testing::byte_tokenizer();
};

// Each conversation of a batch as (prompt up to its first answer token, answer tokens), sorted.
using Conversation = std::pair<std::vector<int32_t>, std::vector<int32_t>>;
std::vector<Conversation> conversations_of(const SftBatch& b) {
  std::vector<Conversation> out;
  for (size_t r = 0; r < b.rows; ++r)
    for (size_t t = 0; t < b.seq; ++t) {
      const size_t c = r * b.seq + t;
      if (t == 0 || b.segments[c] != b.segments[c - 1]) out.emplace_back();
      auto& [prompt, answer] = out.back();
      if (answer.empty()) prompt.push_back(b.ids[c]);
      if (b.targets[c] != kIgnoreTarget) answer.push_back(b.targets[c]);
    }
  std::erase_if(out, [](const Conversation& c) { return c.second.empty(); });
  std::sort(out.begin(), out.end());
  return out;
}

struct Exposed : SftDistillObjective {
  using SftDistillObjective::redraw;
  using SftDistillObjective::SftDistillObjective;
};

Exposed objective(Models& s, double on_policy, float temperature = 1) {
  SftObjectiveOptions so;
  so.batch = 2;
  so.packing.seq = 32;
  so.seed = 3;
  DistillOptions d;
  d.on_policy = on_policy;
  d.rollout.temperature = temperature;
  d.rollout.max_new_tokens = 6;
  d.tokenizer = s.tok;
  return Exposed(s.student, s.teacher, s.train, {}, so, d);
}

TEST(OnPolicyDistill, TheAnswersAreTheStudentsGreedyOrSampledOnes) {
  Models s;
  Exposed greedy = objective(s, 1, 0);
  SftBatch original, b;
  greedy.fill_stream_rows(0, 2, original);
  b = original;
  greedy.redraw(b, 0);
  ASSERT_TRUE(b.sampled);
  const auto before = conversations_of(original), after = conversations_of(b);
  ASSERT_EQ(before.size(), after.size());
  ASSERT_GE(after.size(), 4u);
  // Same prompts; answers = the student's greedy continuations (at most max_new_tokens, within the row).
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].first, before[i].first);
    prompts.push_back(after[i].first);
  }
  RolloutOptions ro;
  ro.temperature = 0, ro.max_new_tokens = 6, ro.ctx = 32, ro.slots = 4;
  const auto expected = generate_rollouts(std::make_shared<const ModelWeights>(live_weights(s.student)), s.tok, prompts, ro);
  size_t count = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].second, expected[i][0].tokens) << "conversation " << i;
    count += after[i].second.size();
  }
  EXPECT_EQ(b.target_count, count);

  // Sampled: repeatable for the same row position, another for another; the original answers are gone.
  Exposed sampled = objective(s, 1);
  SftBatch x = original, y = original, z;
  sampled.redraw(x, 0);
  sampled.redraw(y, 0);
  EXPECT_EQ(x.ids, y.ids);
  EXPECT_EQ(x.targets, y.targets);
  sampled.fill_stream_rows(0, 2, z);
  sampled.redraw(z, 2);
  EXPECT_NE(conversations_of(x), conversations_of(z));
  EXPECT_NE(conversations_of(x), before);
}

TEST(OnPolicyDistill, AShareOfTheMicroBatchesAndTheMetric) {
  Models s;
  Exposed none = objective(s, 0), half = objective(s, 0.5);
  int sampled = 0;
  for (uint64_t row = 0; row < 60; row += 2) {
    SftBatch a, b;
    none.fill_stream_rows(0, 2, a);
    b = a;
    none.redraw(a, row);
    EXPECT_FALSE(a.sampled);
    EXPECT_EQ(a.ids, b.ids);
    half.redraw(b, row);
    sampled += b.sampled;
  }
  EXPECT_GT(sampled, 6);
  EXPECT_LT(sampled, 24);
  // The loss reports the micro-batch kind when on-policy is on, and nothing new when it is off.
  Exposed all = objective(s, 1);
  all.draw(0);
  const MicroLoss l = all.forward(0);
  EXPECT_EQ(metric(l.metrics, "on_policy"), 1.0f);
  EXPECT_TRUE(std::isfinite(l.loss.item()));
  none.draw(0);
  for (const auto& [name, v] : none.forward(0).metrics) EXPECT_NE(name, "on_policy");
}

}  // namespace distill_test
}  // namespace baimo::train
