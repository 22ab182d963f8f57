// Activation checkpointing (Transformer::set_grad_checkpoint) over a frozen Q8_0 base (QLoRA: every
// matrix packed, products through the int8 kernels, dx through the tiled dequantized weight): a LoRA
// adapter with dropout gets the same loss and A / B gradients with and without checkpointing.
#include <gtest/gtest.h>

#include <random>

#include "baimo/autograd/test_util.h"
#include "baimo/convert/training_base.h"
#include "baimo/model/grad_checkpoint_test_util.h"
#include "baimo/util/temp_dir.h"

using namespace baimo;

TEST(TrainingBaseCheckpoint, LoraOverAFrozenQ8_0Base) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 96;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 64;
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  TempDir t("baimo_ckpt_q8_");
  const std::string dir = (t.dir / "m").string();
  Transformer::random(c, 42).save(dir);
  Transformer m = load_training_base(dir, BaseStorage::Frozen, DType::Q8_0);
  ASSERT_FALSE(m.frozen_params().empty());
  ASSERT_EQ(m.frozen_params()[0].w.type, DType::Q8_0);
  LoraConfig lc;
  lc.r = 4;
  lc.dropout = 0.2f;
  lc.targets = parse_lora_targets("all");
  LoraAdapter ad = LoraAdapter::create(m.config(), lc, 5);
  for (size_t i = 0; i < ad.pairs.size(); ++i) {
    std::mt19937 rng(40 + static_cast<uint32_t>(i));
    std::normal_distribution<float> d(0.f, 0.2f);
    float* p = ad.pairs[i].b.value().data<float>();
    for (int64_t j = 0; j < ad.pairs[i].b.numel(); ++j) p[j] = d(rng);
  }
  m.attach_lora(&ad);
  m.set_base_trainable(false);
  m.set_lora_dropout(11);
  const Tensor ids = ag::testing::random_ids({2, 16}, 96, 1), tg = ag::testing::random_ids({2, 16}, 96, 2);
  const auto plain = baimo::testing::grad_checkpoint_step(m, &ad, false, ids, tg);
  const auto ck = baimo::testing::grad_checkpoint_step(m, &ad, true, ids, tg);
  baimo::testing::expect_same_step(ck, plain);
  EXPECT_EQ(ck.grads.size(), 2 * ad.pairs.size());
  EXPECT_LT(ck.arena_high_water, plain.arena_high_water);
}
