#include "baimo/train/objectives/sft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/train/trainer.h"
#include "baimo/train/trainer_test_util.h"

namespace baimo::train {
namespace sft_test {

// Conversations of random lengths: a prompt (mask 0) then an answer (mask 1).
std::vector<SftExample> examples(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<SftExample> out;
  for (size_t i = 0; i < n; ++i) {
    SftExample e;
    const size_t prompt = 2 + rng() % 6, answer = 1 + rng() % 8;
    for (size_t t = 0; t < prompt + answer; ++t) {
      e.ids.push_back(static_cast<int32_t>(1 + rng() % 30));
      e.mask.push_back(t >= prompt ? 1 : 0);
    }
    e.record = i;
    out.push_back(std::move(e));
  }
  return out;
}

struct LossAndGrad {
  float loss = 0;
  std::vector<float> grad;  // of the first parameter of module 0
  int64_t count = 0;
};

// One micro-batch holding every row of the epoch: the loss is the mean over all answer targets.
LossAndGrad whole_epoch(Transformer& model, LoraAdapter* adapter, const std::vector<SftExample>& ex, bool pack) {
  SftObjectiveOptions o;
  o.packing.seq = 32;
  o.packing.pack = pack;
  o.batch = 1;
  SftObjective probe(model, adapter, ex, {}, o);
  o.batch = static_cast<int64_t>(probe.rows_per_epoch());
  SftObjective obj(model, adapter, ex, {}, o);
  std::vector<TrainModule> mods = obj.modules();
  std::vector<ag::Var> params;
  for (auto& [name, v] : mods[0].params) params.push_back(v);
  ag::zero_grad(params);
  LossAndGrad r;
  r.count = obj.draw(0);
  ag::Var loss = obj.forward(0).loss;
  r.loss = loss.item();
  ag::backward(loss);
  Tensor g = params[0].grad();
  r.grad.assign(g.data<float>(), g.data<float>() + g.numel());
  ag::reset_step();
  return r;
}

TEST(SftObjective, PackedAndUnpackedRowsGiveTheSameLossAndGradient) {
  Transformer model = Transformer::random(test::micro_config(32), 5);
  std::vector<SftExample> ex = examples(12, 1);
  int64_t answer_targets = 0;
  for (const auto& e : ex)
    for (size_t t = 1; t < e.mask.size(); ++t) answer_targets += e.mask[t];
  LossAndGrad packed = whole_epoch(model, nullptr, ex, true), unpacked = whole_epoch(model, nullptr, ex, false);
  EXPECT_EQ(packed.count, answer_targets);
  EXPECT_EQ(unpacked.count, answer_targets);
  EXPECT_NEAR(packed.loss, unpacked.loss, 1e-5 * std::fabs(unpacked.loss));
  float max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < packed.grad.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(unpacked.grad[i]));
    max_diff = std::max(max_diff, std::fabs(packed.grad[i] - unpacked.grad[i]));
  }
  EXPECT_GT(max_abs, 0);
  EXPECT_LE(max_diff, 1e-4 * max_abs);
}

TEST(SftObjective, LoraTrainsOnlyTheAdapterAndStartsAtTheBaseLoss) {
  Transformer model = Transformer::random(test::micro_config(32), 5);
  std::vector<SftExample> ex = examples(8, 2);
  const float base_loss = whole_epoch(model, nullptr, ex, true).loss;
  LoraConfig lc;
  lc.r = 4;
  lc.dropout = 0;
  LoraAdapter adapter = LoraAdapter::create(model.config(), lc, 9);
  model.attach_lora(&adapter);
  model.set_base_trainable(false);
  SftObjectiveOptions o;
  o.packing.seq = 32;
  SftObjective obj(model, &adapter, ex, {}, o);
  std::vector<TrainModule> mods = obj.modules();
  ASSERT_EQ(mods.size(), 1u);
  EXPECT_EQ(mods[0].name, "lora");
  EXPECT_EQ(mods[0].params.size(), adapter.pairs.size() * 2);
  EXPECT_EQ(mods[0].params[0].first, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  LossAndGrad lora = whole_epoch(model, &adapter, ex, true);  // B = 0: the base's loss
  EXPECT_NEAR(lora.loss, base_loss, 1e-6 * base_loss);
  for (const auto& p : model.params()) EXPECT_FALSE(p.var.has_grad()) << p.spec.name;
}

TEST(SftObjective, ResumeContinuesTheRowStreamAndRollbackSkips) {
  Transformer model = Transformer::random(test::micro_config(32), 5);
  std::vector<SftExample> ex = examples(10, 3);
  SftObjectiveOptions o;
  o.packing.seq = 32;
  o.batch = 2;
  SftObjective a(model, nullptr, ex, {}, o), b(model, nullptr, ex, {}, o);
  for (int i = 0; i < 7; ++i) a.draw(0);  // crosses an epoch boundary (fewer than 14 rows per epoch)
  b.restore(a.state(), "test", false);
  SftBatch want, got;
  a.fill_stream_rows(a.row_position(), 2, want);
  b.draw(0);
  b.fill_stream_rows(b.row_position() - 2, 2, got);
  EXPECT_EQ(want.ids, got.ids);
  EXPECT_EQ(want.targets, got.targets);
  nlohmann::json note = b.restore(nlohmann::json{{"row_position", 4}}, "test", true);
  EXPECT_EQ(note["skipped_rows"], nlohmann::json::array({4, 16}));
  EXPECT_EQ(b.row_position(), 16u);
}

TEST(SftObjective, EvaluateIsTheHeldOutAnswerLoss) {
  Transformer model = Transformer::random(test::micro_config(32), 5);
  std::vector<SftExample> train = examples(6, 4), held = examples(5, 5);
  SftObjectiveOptions o;
  o.packing.seq = 32;
  o.batch = 2;
  SftObjective obj(model, nullptr, train, held, o);
  std::optional<float> v = obj.evaluate();
  ASSERT_TRUE(v.has_value());
  const float direct = whole_epoch(model, nullptr, held, true).loss;
  EXPECT_NEAR(*v, direct, 1e-5 * direct);
  SftObjective none(model, nullptr, train, {}, o);
  EXPECT_FALSE(none.evaluate().has_value());
}

}  // namespace sft_test

}  // namespace baimo::train
