// The PPO objective on a micro model over a byte tokenizer, with real rollouts from the engine: it
// learns what a reward asks for (answers made of lower-case letters) through the Trainer; the split of
// a minibatch into micro-batches leaves the gradient of the policy AND of the value model as it is;
// before any update the KL to the reference is 0 and the ratio 1 (full and LoRA); the value loss falls
// over the steps of a fixed reward; a mid-batch state restores the same rollouts; the per-token
// rewards, GAE and whitening of a batch are those of rl_advantages.h over its layout.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/train/objectives/ppo.h"
#include "baimo/train/rl_advantages.h"
#include "baimo/train/objectives/rl_test_util.h"
#include "baimo/train/trainer.h"
#include "baimo/util/error.h"

namespace baimo::train {
namespace ppo_test {

using namespace rl_testing;

PpoObjectiveOptions options() {
  PpoObjectiveOptions o;
  o.prompts = 8;
  o.rollout.max_new_tokens = 6;
  o.rollout.ctx = 64;
  o.rollout.slots = 8;
  o.seed = 3;
  return o;
}

RolloutRewards constant(std::span<const size_t>, std::span<const RolloutSample> samples, bool) {
  return RolloutRewards{std::vector<float>(samples.size(), 1.5f), {}};
}

TEST(PpoObjective, LearnsWhatTheRewardAsksFor) {
  Transformer model = Transformer::random(byte_config(), 5);
  ValueModel value = ValueModel::full(model, 6);
  const auto train = prompts(64, 1), held_out = prompts(16, 2);
  PpoObjectiveOptions o = options();
  o.samples = 2;
  o.ppo_epochs = 2;
  PpoObjective objective(model, nullptr, value, byte_tokenizer(), train, held_out, letter_share, o);
  Trainer trainer(objective, trainer_options(40, 1e-2f));
  const float before = -*trainer.evaluate();
  std::vector<float> rewards;
  trainer.run([&](const StepMetrics& m) { rewards.push_back(metric(m.metrics, "reward")); });
  const float after = -*trainer.evaluate();
  const float first = (rewards[0] + rewards[2] + rewards[4]) / 3, last = (rewards[35] + rewards[37] + rewards[39]) / 3;
  EXPECT_LT(first, 0.3f);
  EXPECT_GT(last, first + 0.3f) << "sampled reward " << first << " -> " << last;
  EXPECT_GT(after, before + 0.3f) << "held-out greedy reward " << before << " -> " << after;
}

// Gradients of the policy and of the value model after one step (LoRA: adapters and score head).
std::vector<float> step_gradient(int64_t grad_accum, int64_t mini_batches, bool lora) {
  Transformer model = Transformer::random(byte_config(), 7);
  std::optional<LoraAdapter> adapter;
  if (lora) {
    LoraConfig lc;
    lc.r = 4;
    adapter.emplace(LoraAdapter::create(model.config(), lc, 9));
    for (auto& pair : adapter->pairs) {  // B is zero at creation: give it values so that the adapter matters
      std::mt19937 rng(1);
      std::normal_distribution<float> d(0, 0.1f);
      float* b = pair.b.value().data<float>();
      for (int64_t i = 0; i < pair.b.numel(); ++i) b[i] = d(rng);
    }
    model.attach_lora(&*adapter);
    model.set_base_trainable(false);
  }
  LoraConfig vlc;
  vlc.r = 4;
  ValueModel value = lora ? ValueModel::lora(model, vlc, 11) : ValueModel::full(model, 11);
  if (!lora) {  // a non-zero head, so that the value trunk's gradients are not 0 either
    ag::Var score = value.trunk().score_weight();
    score.value().fill(0.05f);
  }
  const auto train = prompts(16, 1);
  PpoObjectiveOptions o = options();
  o.samples = 2;
  o.grad_accum = grad_accum;
  o.mini_batches = mini_batches;
  PpoObjective objective(model, adapter ? &*adapter : nullptr, value, byte_tokenizer(), train, {}, letter_share, o);
  Trainer trainer(objective, trainer_options(1, 1e-3f, grad_accum));
  StepMetrics m;
  trainer.compute_gradients(m);
  std::vector<float> g;
  for (const TrainModule& mod : objective.modules())
    for (const ParamGroup& group : mod.groups)
      for (const ag::Var& v : group.params) {
        Tensor t = v.grad();
        g.insert(g.end(), t.data<float>(), t.data<float>() + t.numel());
      }
  return g;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += a[i] * a[i];
  }
  EXPECT_GT(den, 0);
  return std::sqrt(num / den);
}

TEST(PpoObjective, MicroBatchesGiveTheGradientOfTheWholeMinibatch) {
  for (bool lora : {false, true}) {
    EXPECT_LT(relative_difference(step_gradient(1, 1, lora), step_gradient(4, 1, lora)), 1e-5) << lora;
    EXPECT_LT(relative_difference(step_gradient(1, 2, lora), step_gradient(2, 2, lora)), 1e-5) << lora;
  }
}

TEST(PpoObjective, KlIsZeroAndRatioOneBeforeAnyUpdate) {
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
    ValueModel value = lora ? ValueModel::lora(model, LoraConfig{}, 3) : ValueModel::full(model, 3);
    const auto train = prompts(16, 1);
    PpoObjectiveOptions o = options();
    o.kl_estimator = KlEstimator::K3;
    PpoObjective objective(model, adapter ? &*adapter : nullptr, value, byte_tokenizer(), train, {}, letter_share, o);
    objective.draw(0);
    const PpoObjective::Batch& b = objective.batch();
    ASSERT_EQ(b.ref_logp.size(), b.rows.size());
    for (size_t i = 0; i < b.rows.size(); ++i) {
      EXPECT_EQ(b.ref_logp[i], b.old_logp[i]);
      for (float v : b.old_values[i]) EXPECT_EQ(v, 0.0f);  // the zero head
    }
    const MicroLoss l = objective.forward(0);
    EXPECT_EQ(metric(l.metrics, "kl"), 0.0f) << (lora ? "LoRA" : "full");
    EXPECT_NEAR(metric(l.metrics, "ratio_mean"), 1.0f, 1e-6f);
    EXPECT_EQ(metric(l.metrics, "clip_ratio"), 0.0f);
    EXPECT_NEAR(metric(l.metrics, "entropy"), std::log(257.0f), 0.5f);
    ag::reset_step();
  }
}

TEST(PpoObjective, AdvantagesAreGaeOfTheTokenRewardsWhitened) {
  Transformer model = Transformer::random(byte_config(), 7);
  ValueModel value = ValueModel::full(model, 3);
  ag::Var score = value.trunk().score_weight();  // a handle: fill the head so that values are non-zero
  score.value().fill(0.05f);
  const auto train = prompts(16, 1);
  PpoObjectiveOptions o = options();
  o.ppo_epochs = 2;
  PpoObjective objective(model, nullptr, value, byte_tokenizer(), train, {}, letter_share, o);
  objective.draw(0);
  const PpoObjective::Batch& b = objective.batch();
  const LossRows r = loss_rows(b, 0, b.rows.size());
  // kl = 0 (old = reference): the token rewards are the score at each answer's last token.
  const auto rewards = ppo_token_rewards(b.scores, {}, r.mask, r.b, r.t, o.kl_coef);
  const Gae g = gae(rewards, to_layout(b, b.old_values, 0, b.rows.size(), r.t), r.mask, r.b, r.t, 1.0f, 0.95f);
  const std::vector<float> adv = masked_whiten(g.advantages, r.mask);
  EXPECT_EQ(to_layout(b, b.advantages, 0, b.rows.size(), r.t), adv);
  EXPECT_EQ(to_layout(b, b.returns, 0, b.rows.size(), r.t), g.returns);
  bool some_value = false;
  for (const auto& v : b.old_values)
    for (float x : v) some_value |= x != 0;
  EXPECT_TRUE(some_value);
}

TEST(PpoObjective, ValueLossFallsOnAFixedReward) {
  Transformer model = Transformer::random(byte_config(), 5);
  ValueModel value = ValueModel::full(model, 6);
  const auto train = prompts(32, 1);
  PpoObjectiveOptions o = options();
  o.kl_coef = 0;
  PpoObjective objective(model, nullptr, value, byte_tokenizer(), train, {}, constant, o);
  Trainer trainer(objective, trainer_options(24, 1e-2f));
  std::vector<float> losses;
  trainer.run([&](const StepMetrics& m) { losses.push_back(metric(m.metrics, "value_loss")); });
  EXPECT_GT(losses.front(), 0.5f);  // values start at 0, the return is 1.5: 1/2 1.5^2 ~ 1.1
  EXPECT_LT(losses.back(), 0.1f * losses.front()) << losses.front() << " -> " << losses.back();
}

TEST(PpoObjective, MidBatchStateRestoresTheSameRollouts) {
  Transformer model = Transformer::random(byte_config(), 7);
  ValueModel value = ValueModel::full(model, 3);
  const auto train = prompts(16, 1);
  PpoObjectiveOptions o = options();
  o.target_kl = 0.01f;
  o.normalize_reward = true;
  o.missing_eos_penalty = 0.5f;
  PpoObjective a(model, nullptr, value, byte_tokenizer(), train, {}, letter_share, o);
  a.draw(0);
  const nlohmann::json state = a.state();
  ASSERT_TRUE(state.contains("batch"));
  const float loss_a = a.forward(0).loss.item();
  ag::reset_step();
  PpoObjective b(model, nullptr, value, byte_tokenizer(), train, {}, letter_share, o);
  b.restore(nlohmann::json::parse(state.dump()), "test", false);
  b.draw(0);  // step 1 of the restored batch: no new rollouts
  EXPECT_EQ(b.batch().rows, a.batch().rows);
  EXPECT_EQ(b.batch().scores, a.batch().scores);
  EXPECT_EQ(b.batch().advantages, a.batch().advantages);
  EXPECT_EQ(b.batch().returns, a.batch().returns);
  EXPECT_EQ(b.kl_coef(), a.kl_coef());
  EXPECT_EQ(b.state().at("reward_moments"), state.at("reward_moments"));
  EXPECT_EQ(b.forward(0).loss.item(), loss_a);
  ag::reset_step();
  for (float s : a.batch().scores) EXPECT_LE(std::abs(s), 3.0f);  // normalised, the penalty applied
  EXPECT_THROW(b.restore({{"prompt_position", 0}, {"batches", 1}, {"step", 1}, {"kl_coef", 0.05},
                          {"reward_moments", {0, 0, 0}}}, "ckpt", false), Error);
}

TEST(PpoObjective, BadSettingsAreErrors) {
  Transformer model = Transformer::random(byte_config(), 7);
  ValueModel value = ValueModel::full(model, 3);
  const auto train = prompts(4, 1);
  auto make = [&](PpoObjectiveOptions o) { PpoObjective p(model, nullptr, value, byte_tokenizer(), train, {}, letter_share, o); };
  PpoObjectiveOptions o = options();
  o.rollout.max_new_tokens = 63;
  EXPECT_THROW(make(o), Error);
  o = options();
  o.grad_accum = 5;
  o.mini_batches = 2;  // 8 answers: 4 per minibatch, fewer than 5 micro-batches
  EXPECT_THROW(make(o), Error);
  o = options();
  o.lambda = 1.5f;
  EXPECT_THROW(make(o), Error);
  EXPECT_THROW(ValueModel::from_reward_model(Transformer::random(byte_config(), 1), model.config()), Error);
}

}  // namespace ppo_test

}  // namespace baimo::train
