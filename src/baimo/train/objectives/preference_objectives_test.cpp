// The reward-model and DPO objectives on a micro model: DPO's loss is log 2 before any update (the
// policy is its own reference, also under LoRA where the reference is the base with the adapter off),
// and both learn a preference the data holds (chosen answers end in one token, rejected in another)
// to held-out accuracy 1 through the Trainer.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/model/reward_model.h"
#include "baimo/train/objectives/dpo.h"
#include "baimo/train/objectives/reward_model.h"
#include "baimo/train/trainer.h"
#include "baimo/train/trainer_test_util.h"

namespace baimo::train {
namespace preference_objectives_test {

// Random prompts; the chosen answer is random tokens then 5, the rejected the same tokens then 9.
std::vector<PreferenceExample> pairs(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PreferenceExample> out;
  for (size_t i = 0; i < n; ++i) {
    PreferenceExample e;
    for (size_t t = 0, len = 2 + rng() % 5; t < len; ++t) e.prompt.push_back(static_cast<int32_t>(10 + rng() % 20));
    for (size_t t = 0, len = rng() % 3; t < len; ++t) e.chosen.push_back(static_cast<int32_t>(10 + rng() % 20));
    e.rejected = e.chosen;
    e.chosen.push_back(5);
    e.rejected.push_back(9);
    e.record = i;
    out.push_back(std::move(e));
  }
  return out;
}

float metric(const NamedValues& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  ADD_FAILURE() << "no metric " << name;
  return NAN;
}

PairObjectiveOptions options() {
  PairObjectiveOptions o;
  o.batch = 4;
  o.seq = 32;
  o.seed = 1;
  return o;
}

TrainerOptions trainer_options(int64_t steps, float lr) {
  TrainerOptions t;
  t.steps = steps;
  t.lr = lr;
  t.min_lr = lr;
  t.warmup = 0;
  t.weight_decay = 0;
  t.eval_interval = 0;
  return t;
}

TEST(DpoObjective, LossIsLog2BeforeAnyUpdateAndFallsAsThePreferenceIsLearned) {
  Transformer model = Transformer::random(test::micro_config(32), 3);
  const auto train = pairs(24, 1), held = pairs(8, 2);
  DpoObjective obj(model, nullptr, train, held, options(), PreferenceLossOptions{});
  std::optional<float> v = obj.evaluate();
  ASSERT_TRUE(v.has_value());
  EXPECT_NEAR(*v, std::log(2.0f), 1e-4f);
  EXPECT_NEAR(metric(obj.eval_metrics(), "rewards/margins"), 0.0f, 1e-4f);
  EXPECT_FALSE(obj.token_loss());
  Trainer trainer(obj, trainer_options(40, 1e-2f));
  trainer.run([](const StepMetrics&) {});
  v = obj.evaluate();
  EXPECT_LT(*v, 0.3f);
  EXPECT_EQ(metric(obj.eval_metrics(), "rewards/accuracies"), 1.0f);
  EXPECT_GT(metric(obj.eval_metrics(), "rewards/margins"), 1.0f);
}

TEST(DpoObjective, UnderLoraTheReferenceIsTheBaseWithTheAdapterOff) {
  Transformer model = Transformer::random(test::micro_config(32), 3);
  LoraConfig lc;
  lc.r = 4;
  lc.alpha = 8;
  lc.dropout = 0;
  LoraAdapter adapter = LoraAdapter::create(model.config(), lc, 5);
  for (auto& p : adapter.pairs)  // a non-zero adapter: the policy differs from the base from the start
    for (int64_t i = 0; i < p.b.numel(); ++i) p.b.value().data<float>()[i] = 0.05f * std::sin(static_cast<float>(i));
  model.attach_lora(&adapter);
  model.set_base_trainable(false);
  const auto train = pairs(8, 1), held = pairs(8, 2);
  DpoObjective obj(model, &adapter, train, held, options(), PreferenceLossOptions{});
  ASSERT_EQ(model.lora(), &adapter) << "the adapter is attached again after the reference pass";
  obj.evaluate();
  EXPECT_GT(std::fabs(metric(obj.eval_metrics(), "rewards/chosen")), 1e-4f) << "the reference must be the base alone";
  model.attach_lora(nullptr);
  DpoObjective base_only(model, nullptr, train, held, options(), PreferenceLossOptions{});
  base_only.evaluate();
  EXPECT_NEAR(metric(base_only.eval_metrics(), "rewards/chosen"), 0.0f, 1e-5f);
}

TEST(RewardObjective, LearnsTheHeldOutPreference) {
  Transformer lm = Transformer::random(test::micro_config(32), 3);
  Transformer rm = make_reward_model(lm, 7);
  const auto train = pairs(32, 1), held = pairs(16, 2);
  RewardObjective obj(rm, nullptr, train, held, options(), 0.0f);
  obj.evaluate();
  const float before = metric(obj.eval_metrics(), "accuracy");
  Trainer trainer(obj, trainer_options(40, 1e-2f));
  trainer.run([](const StepMetrics&) {});
  std::optional<float> v = obj.evaluate();
  EXPECT_EQ(metric(obj.eval_metrics(), "accuracy"), 1.0f) << "before " << before;
  EXPECT_LT(*v, 0.2f);
  EXPECT_GT(metric(obj.eval_metrics(), "margin"), 1.0f);
}

}  // namespace preference_objectives_test

}  // namespace baimo::train
