// Transformer::set_grad_checkpoint: with each decoder block checkpointed (ag::checkpoint) the loss
// and the gradient of every parameter equal those without, for a full model (tied qwen-like with
// q/k/v biases, untied llama-like), a LoRA adapter over an f32 base with dropout (the masks are
// recomputed), packed rows of two documents (positions restart, segments); activation memory (the
// arena's high-water) drops; a set_lora_dropout / detach between forward and backward does not
// change the recomputation.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "baimo/autograd/test_util.h"
#include "baimo/model/grad_checkpoint_test_util.h"
#include "baimo/model/tiny_config_test_util.h"

namespace transformer_checkpoint_test {
using namespace baimo;
using baimo::testing::expect_same_step;
using baimo::testing::grad_checkpoint_step;

ModelConfig qwen_like(int64_t layers = 3) { return baimo::testing::tiny_qwen2(layers, 32); }

ModelConfig llama_like() { return baimo::testing::tiny_llama(3, 32); }

Tensor ids_of(int64_t B, int64_t T, int64_t V, uint32_t seed) {
  return ag::testing::random_ids({B, T}, static_cast<int32_t>(V), seed);
}

void fill_random(const ag::Var& v, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  float* p = v.value().data<float>();
  for (int64_t i = 0; i < v.numel(); ++i) p[i] = d(rng);
}

TEST(TransformerCheckpoint, FullModelSameLossAndGradients) {
  for (const ModelConfig& c : {qwen_like(), llama_like()}) {
    Transformer m = Transformer::random(c, 3);
    const Tensor ids = ids_of(2, 12, c.vocab_size, 1), tg = ids_of(2, 12, c.vocab_size, 2);
    const auto plain = grad_checkpoint_step(m, nullptr, false, ids, tg);
    const auto ck = grad_checkpoint_step(m, nullptr, true, ids, tg);
    expect_same_step(ck, plain);
    EXPECT_EQ(ck.grads.size(), m.params().size()) << c.model_type;  // every parameter
  }
}

TEST(TransformerCheckpoint, ActivationMemoryDrops) {
  const ModelConfig c = qwen_like(6);
  Transformer m = Transformer::random(c, 3);
  const Tensor ids = ids_of(2, 32, c.vocab_size, 1), tg = ids_of(2, 32, c.vocab_size, 2);
  const auto plain = grad_checkpoint_step(m, nullptr, false, ids, tg);
  const auto ck = grad_checkpoint_step(m, nullptr, true, ids, tg);
  expect_same_step(ck, plain);
  // 6 blocks of ~20 activations each vs their 6 inputs + one block recomputed.
  EXPECT_LT(ck.arena_high_water * 3, plain.arena_high_water)
      << ck.arena_high_water << " vs " << plain.arena_high_water << " bytes";
}

TEST(TransformerCheckpoint, LoraOverF32BaseWithDropout) {
  for (const ModelConfig& c : {qwen_like(), llama_like()}) {
    Transformer m = Transformer::random(c, 3);
    LoraConfig lc;
    lc.r = 4;
    lc.alpha = 8.f;
    lc.dropout = 0.3f;
    lc.targets = parse_lora_targets("all");
    LoraAdapter ad = LoraAdapter::create(c, lc, 5);
    for (size_t i = 0; i < ad.pairs.size(); ++i) fill_random(ad.pairs[i].b, 40 + uint32_t(i), 0.2f);
    m.set_base_trainable(false);
    m.attach_lora(&ad);
    m.set_lora_dropout(123);
    const Tensor ids = ids_of(2, 12, c.vocab_size, 1), tg = ids_of(2, 12, c.vocab_size, 2);
    const auto plain = grad_checkpoint_step(m, &ad, false, ids, tg);
    const auto ck = grad_checkpoint_step(m, &ad, true, ids, tg);
    expect_same_step(ck, plain);
    EXPECT_EQ(ck.grads.size(), 2 * ad.pairs.size());  // A and B of every pair, no base gradient
    // Dropout matters (another seed changes the gradients), so the recomputation did regenerate it.
    m.set_lora_dropout(124);
    const auto other = grad_checkpoint_step(m, &ad, true, ids, tg);
    EXPECT_NE(other.loss, plain.loss);
  }
}

TEST(TransformerCheckpoint, RecomputationUsesTheForwardsDropoutSeed) {
  const ModelConfig c = qwen_like();
  Transformer m = Transformer::random(c, 3);
  LoraConfig lc;
  lc.dropout = 0.3f;
  LoraAdapter ad = LoraAdapter::create(c, lc, 5);
  for (size_t i = 0; i < ad.pairs.size(); ++i) fill_random(ad.pairs[i].b, 40 + uint32_t(i), 0.2f);
  m.attach_lora(&ad);
  m.set_base_trainable(false);
  const Tensor ids = ids_of(2, 12, c.vocab_size, 1), tg = ids_of(2, 12, c.vocab_size, 2);
  m.set_lora_dropout(7);
  const auto plain = grad_checkpoint_step(m, &ad, false, ids, tg);
  // Forward under seed 7, then the seed changes and the adapter detaches before backward.
  for (auto& p : ad.pairs) p.a.node()->grad_valid = p.b.node()->grad_valid = false;
  m.set_grad_checkpoint(true);
  std::vector<std::vector<float>> grads;
  std::thread worker([&] {
    ag::Var loss = m.loss(ids, tg);
    m.set_lora_dropout(8);
    m.attach_lora(nullptr);
    ag::backward(loss);
    ag::reset_step();
  });
  worker.join();
  size_t i = 0;
  for (const auto& p : ad.pairs)
    for (const ag::Var& v : {p.a, p.b}) {
      const Tensor g = v.grad();
      ASSERT_EQ(std::vector<float>(g.data<float>(), g.data<float>() + g.numel()), plain.grads[i].second)
          << plain.grads[i].first;
      ++i;
    }
}

TEST(TransformerCheckpoint, PackedRowsWithTwoSegments) {
  const ModelConfig c = qwen_like();
  Transformer m = Transformer::random(c, 3);
  LoraConfig lc;
  lc.dropout = 0.1f;
  LoraAdapter ad = LoraAdapter::create(c, lc, 5);
  for (size_t i = 0; i < ad.pairs.size(); ++i) fill_random(ad.pairs[i].b, 40 + uint32_t(i), 0.2f);
  m.attach_lora(&ad);  // base trainable too: every parameter and every adapter matrix
  m.set_lora_dropout(9);
  // Row 0: documents of 7 and 5 tokens; row 1: one document of 12.
  std::vector<int32_t> pos, seg;
  for (int t = 0; t < 12; ++t) pos.push_back(t < 7 ? t : t - 7), seg.push_back(t < 7 ? 0 : 1);
  for (int t = 0; t < 12; ++t) pos.push_back(t), seg.push_back(0);
  const Tensor positions = Tensor::from_ids({2, 12}, pos), segments = Tensor::from_ids({2, 12}, seg);
  const Tensor ids = ids_of(2, 12, c.vocab_size, 1), tg = ids_of(2, 12, c.vocab_size, 2);
  const auto plain = grad_checkpoint_step(m, &ad, false, ids, tg, &positions, &segments);
  const auto ck = grad_checkpoint_step(m, &ad, true, ids, tg, &positions, &segments);
  expect_same_step(ck, plain);
  EXPECT_EQ(ck.grads.size(), m.params().size() + 2 * ad.pairs.size());
  // The segments matter: unpacked rows give another loss.
  const auto unpacked = grad_checkpoint_step(m, &ad, true, ids, tg);
  EXPECT_NE(unpacked.loss, plain.loss);
}

}  // namespace transformer_checkpoint_test
