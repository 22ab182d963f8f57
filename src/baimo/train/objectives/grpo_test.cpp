// The GRPO objective on a micro model over a byte tokenizer, with real rollouts from the engine:
// it learns what a reward asks for (answers made of lower-case letters) through the Trainer; the
// split of a batch into micro-batches leaves the gradient as it is for every normalisation; the KL to
// the reference is 0 before any update (full: the copy of the start weights; LoRA: the base); a
// mid-batch state restores the same rollouts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/train/objectives/grpo.h"
#include "baimo/train/objectives/rl_test_util.h"
#include "baimo/train/trainer.h"
#include "baimo/util/error.h"

namespace baimo::train {
namespace grpo_test {

using namespace rl_testing;

GrpoObjectiveOptions options() {
  GrpoObjectiveOptions o;
  o.prompts = 4;
  o.group = 4;
  o.rollout.max_new_tokens = 6;
  o.rollout.ctx = 64;
  o.rollout.slots = 8;
  o.seed = 3;
  return o;
}

TEST(GrpoObjective, LearnsWhatTheRewardAsksFor) {
  Transformer model = Transformer::random(byte_config(), 5);
  const auto train = prompts(64, 1), held_out = prompts(16, 2);
  GrpoObjectiveOptions o = options();
  o.prompts = 8;
  o.loss.beta = 0.01f;
  GrpoObjective objective(model, nullptr, byte_tokenizer(), train, held_out, letter_share, o);
  Trainer trainer(objective, trainer_options(24, 1e-2f));
  const float before = -*trainer.evaluate();
  std::vector<float> rewards;
  trainer.run([&](const StepMetrics& m) { rewards.push_back(metric(m.metrics, "reward")); });
  const float after = -*trainer.evaluate();
  const float first = (rewards[0] + rewards[1] + rewards[2]) / 3, last = (rewards[21] + rewards[22] + rewards[23]) / 3;
  EXPECT_LT(first, 0.3f);
  EXPECT_GT(last, first + 0.3f) << "sampled reward " << first << " -> " << last;
  EXPECT_GT(after, before + 0.3f) << "held-out greedy reward " << before << " -> " << after;
  EXPECT_NEAR(metric(objective.eval_metrics(), "completion_length"), 6.0f, 1e-6f);  // no end id: every answer is full
}

std::vector<float> step_gradient(LossNorm norm, int64_t grad_accum, LoraAdapter* adapter_or_null) {
  Transformer model = Transformer::random(byte_config(), 7);
  std::optional<LoraAdapter> adapter;
  if (adapter_or_null) {
    LoraConfig lc;
    lc.r = 4;
    lc.dropout = 0;
    adapter.emplace(LoraAdapter::create(model.config(), lc, 9));
    // B is zero at creation: give it values so that the adapter matters.
    for (auto& pair : adapter->pairs) {
      std::mt19937 rng(1);
      std::normal_distribution<float> d(0, 0.1f);
      float* b = pair.b.value().data<float>();
      for (int64_t i = 0; i < pair.b.numel(); ++i) b[i] = d(rng);
    }
    model.attach_lora(&*adapter);
    model.set_base_trainable(false);
  }
  const auto train = prompts(16, 1);
  GrpoObjectiveOptions o = options();
  o.loss.norm = norm;
  o.loss.beta = 0.05f;
  o.grad_accum = grad_accum;
  GrpoObjective objective(model, adapter ? &*adapter : nullptr, byte_tokenizer(), train, {}, letter_share, o);
  Trainer trainer(objective, trainer_options(1, 1e-3f, grad_accum));
  StepMetrics m;
  trainer.compute_gradients(m);
  std::vector<float> g;
  if (adapter) {
    for (auto& pair : adapter->pairs)
      for (const ag::Var* v : {&pair.a, &pair.b}) {
        Tensor t = v->grad();
        g.insert(g.end(), t.data<float>(), t.data<float>() + t.numel());
      }
  } else {
    for (const auto& p : model.params()) {
      Tensor t = p.var.grad();
      g.insert(g.end(), t.data<float>(), t.data<float>() + t.numel());
    }
  }
  return g;
}

TEST(GrpoObjective, MicroBatchesGiveTheGradientOfTheWholeBatch) {
  for (LossNorm norm : {LossNorm::Grpo, LossNorm::Dapo, LossNorm::DrGrpo}) {
    const std::vector<float> whole = step_gradient(norm, 1, nullptr), split = step_gradient(norm, 4, nullptr);
    ASSERT_EQ(whole.size(), split.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < whole.size(); ++i) {
      num += (whole[i] - split[i]) * (whole[i] - split[i]);
      den += whole[i] * whole[i];
    }
    EXPECT_GT(den, 0) << loss_norm_name(norm);
    EXPECT_LT(std::sqrt(num / den), 1e-5) << loss_norm_name(norm);
  }
}

TEST(GrpoObjective, KlToTheReferenceIsZeroBeforeAnyUpdate) {
  for (bool lora : {false, true}) {
    Transformer model = Transformer::random(byte_config(), 7);
    std::optional<LoraAdapter> adapter;
    if (lora) {
      LoraConfig lc;
      lc.r = 4;
      adapter.emplace(LoraAdapter::create(model.config(), lc, 9));  // B = 0: the policy is the base
      model.attach_lora(&*adapter);
      model.set_base_trainable(false);
    }
    const auto train = prompts(16, 1);
    GrpoObjectiveOptions o = options();
    o.loss.beta = 0.1f;
    o.iterations = 2;  // old log-probs computed too: the ratio is exactly 1
    GrpoObjective objective(model, adapter ? &*adapter : nullptr, byte_tokenizer(), train, {}, letter_share, o);
    objective.draw(0);
    const GrpoObjective::Batch& b = objective.batch();
    ASSERT_EQ(b.ref_logp.size(), b.rows.size());
    for (size_t i = 0; i < b.rows.size(); ++i)
      for (size_t t = 0; t < b.ref_logp[i].size(); ++t) EXPECT_FLOAT_EQ(b.ref_logp[i][t], b.old_logp[i][t]);
    const MicroLoss l = objective.forward(0);
    EXPECT_NEAR(metric(l.metrics, "kl"), 0.0f, 1e-6f) << (lora ? "LoRA" : "full");
    EXPECT_NEAR(metric(l.metrics, "ratio_mean"), 1.0f, 1e-5f);
    EXPECT_NEAR(metric(l.metrics, "completion_length"), 6.0f, 1e-6f);
    // A random micro model is close to uniform over its 257 ids: the entropy is near log 257.
    EXPECT_NEAR(metric(l.metrics, "entropy"), std::log(257.0f), 0.5f);
  }
}

TEST(GrpoObjective, MidBatchStateRestoresTheSameRollouts) {
  Transformer model = Transformer::random(byte_config(), 7);
  const auto train = prompts(16, 1);
  GrpoObjectiveOptions o = options();
  o.iterations = 3;
  GrpoObjective a(model, nullptr, byte_tokenizer(), train, {}, letter_share, o);
  a.draw(0);
  const nlohmann::json state = a.state();
  ASSERT_TRUE(state.contains("batch"));
  const float loss_a = a.forward(0).loss.item();
  ag::reset_step();
  GrpoObjective b(model, nullptr, byte_tokenizer(), train, {}, letter_share, o);
  b.restore(nlohmann::json::parse(state.dump()), "test", false);
  b.draw(0);  // iteration 1 of the restored batch: no new rollouts
  EXPECT_EQ(b.batch().rows, a.batch().rows);
  EXPECT_EQ(b.batch().advantages, a.batch().advantages);
  EXPECT_EQ(b.batch().old_logp, a.batch().old_logp);
  EXPECT_EQ(b.forward(0).loss.item(), loss_a);
  ag::reset_step();
  EXPECT_THROW(b.restore({{"prompt_position", 0}, {"batches", 1}, {"iteration", 1}}, "ckpt", false), Error);
}

TEST(GrpoObjective, BadSettingsAreErrors) {
  Transformer model = Transformer::random(byte_config(), 7);
  const auto train = prompts(4, 1);
  auto make = [&](GrpoObjectiveOptions o) { GrpoObjective g(model, nullptr, byte_tokenizer(), train, {}, letter_share, o); };
  GrpoObjectiveOptions o = options();
  o.group = 1;
  EXPECT_THROW(make(o), Error);
  o = options();
  o.rollout.max_new_tokens = 63;  // prompts of 2+ tokens no longer fit in the context of 64
  EXPECT_THROW(make(o), Error);
  o = options();
  o.grad_accum = 17;  // more micro-batches than the 16 completions
  EXPECT_THROW(make(o), Error);
  auto bad_reward = [](std::span<const size_t>, std::span<const RolloutSample> s, bool) {
    return RolloutRewards{std::vector<float>(s.size(), NAN), {}};
  };
  GrpoObjective g(model, nullptr, byte_tokenizer(), train, {}, bad_reward, options());
  EXPECT_THROW(g.draw(0), Error);
}

}  // namespace grpo_test

}  // namespace baimo::train
