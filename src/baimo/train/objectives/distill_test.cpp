#include "baimo/train/objectives/distill.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "baimo/autograd/tape.h"
#include "baimo/infer/live_weights.h"
#include "baimo/train/objectives/rl_test_util.h"
#include "baimo/train/teacher_cache_build.h"
#include "baimo/util/temp_dir.h"

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

// A teacher cache (by default of the whole vocabulary, k = V, at T = 2) for `train`, at `path`.
std::shared_ptr<const TeacherCache> full_cache(const std::string& path, const Transformer& teacher,
                                               std::span<const SftExample> train, int64_t k = 257,
                                               float temperature = 2) {
  TeacherCacheMeta m;
  m.temperature = temperature;
  m.teacher = "teacher";
  m.teacher_fingerprint = 1;
  m.data_fingerprint = sft_data_fingerprint(train);
  m.top_k = k;
  m.vocab_size = 257;
  m.offsets = teacher_cache_offsets(train);
  build_teacher_cache(path, teacher, train, m, 32, 3);
  return std::make_shared<const TeacherCache>(TeacherCache::open(path, m));
}

SftObjectiveOptions cache_options() {
  SftObjectiveOptions so;
  so.batch = 2;
  so.packing.seq = 32;
  so.seed = 3;
  return so;
}

// Over two epochs of differently shuffled and packed rows, the objective reading a k = V cache gives the
// live teacher's forward-KL loss and metrics: the records line up with every batch's answer positions.
TEST(CachedDistill, WithKEqualToVItIsTheLiveForwardKlAcrossEpochs) {
  Models s;
  TempDir dir("baimo_distill_cache_");
  DistillOptions live;
  live.loss = {ag::Divergence::ForwardKl, 2.f, 0.5f, 0.3f, 0};
  DistillOptions cached = live;
  cached.cache = full_cache((dir.dir / "c.topk").string(), s.teacher, s.train);
  SftDistillObjective a(s.student, s.teacher, s.train, {}, cache_options(), live);
  SftDistillObjective b(s.student, s.train, {}, cache_options(), cached);
  const size_t micro = a.rows_per_epoch() + 1;  // 2 rows each: into a third epoch
  ASSERT_GE(a.rows_per_epoch(), 2u);
  for (size_t m = 0; m < micro; ++m) {
    SCOPED_TRACE(::testing::Message() << "micro-batch " << m);
    ASSERT_EQ(a.draw(0), b.draw(0));
    const MicroLoss la = a.forward(0);
    const float va = la.loss.item();
    ag::reset_step();
    const MicroLoss lb = b.forward(0);
    EXPECT_NEAR(lb.loss.item(), va, 1e-5f * std::max(1.f, std::fabs(va)));
    EXPECT_NEAR(metric(lb.metrics, "distill"), metric(la.metrics, "distill"), 1e-5f);
    EXPECT_NEAR(metric(lb.metrics, "ce"), metric(la.metrics, "ce"), 1e-5f);
    ag::reset_step();
  }
  EXPECT_EQ(b.trajectory()["distill"]["teacher_top_k"], 257);
  EXPECT_FALSE(a.trajectory()["distill"].contains("teacher_top_k"));
  EXPECT_LT(b.flops_per_token(), a.flops_per_token());  // no teacher forward
}

TEST(CachedDistill, RefusesWhatACacheCannotServe) {
  Models s;
  TempDir dir("baimo_distill_cache_refuse_");
  DistillOptions d;
  d.cache = full_cache((dir.dir / "c.topk").string(), s.teacher, s.train, 4);
  auto error_of = [&](const DistillOptions& o, std::span<const SftExample> train) {
    try {
      SftDistillObjective x(s.student, train, {}, cache_options(), o);
      x.draw(0);
      x.forward(0);
    } catch (const Error& e) {
      ag::reset_step();
      return std::string(e.what());
    }
    ag::reset_step();
    return std::string("(no error)");
  };
  DistillOptions op = d;
  op.on_policy = 0.5;
  EXPECT_NE(error_of(op, s.train).find("on-policy"), std::string::npos);
  DistillOptions hot = d;
  hot.loss.temperature = 3;
  EXPECT_NE(error_of(hot, s.train).find("built at temperature 2, this run's is 3"), std::string::npos);
  d.loss.temperature = 2;
  DistillOptions rkl = d;
  rkl.loss.divergence = ag::Divergence::ReverseKl;
  EXPECT_NE(error_of(rkl, s.train).find("--loss reverse_kl needs the teacher's whole distribution"), std::string::npos);
  // A cache of other examples with as many of them: the batch's answer positions do not line up.
  std::vector<SftExample> longer = s.train;
  for (SftExample& e : longer) e.ids.push_back('e'), e.mask.push_back(1);
  const std::string e = error_of(d, longer);
  EXPECT_NE(e.find("target positions in its batch"), std::string::npos) << e;
}

}  // namespace distill_test
}  // namespace baimo::train
