#include "baimo/model/lora.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/util/error.h"

namespace baimo {
namespace lora_test {

ModelConfig tiny() {
  ModelConfig c;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  return c;
}

TEST(Lora, LayoutNamesShapesAndOrderFollowPeft) {
  LoraConfig lc;
  lc.r = 4;
  lc.targets = parse_lora_targets("down, q_proj,v");
  std::vector<LoraSpec> l = lora_layout(tiny(), lc);
  ASSERT_EQ(l.size(), 6u);
  EXPECT_EQ(l[0].a_name, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(l[1].b_name, "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
  EXPECT_EQ(l[2].base_name, "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(l[2].in, 48);
  EXPECT_EQ(l[2].out, 32);
  EXPECT_EQ(l[1].out, 2 * 8);  // kv heads * head dim
  EXPECT_EQ(l[3].layer, 1);
}

TEST(Lora, CreateInitialisesAUniformAndBZero) {
  LoraConfig lc;
  lc.r = 4;
  LoraAdapter ad = LoraAdapter::create(tiny(), lc, 7);
  ASSERT_EQ(ad.pairs.size(), 14u);
  const auto& p = ad.pairs[0];
  EXPECT_EQ(p.a.shape(), (Shape{4, 32}));
  EXPECT_EQ(p.b.shape(), (Shape{32, 4}));
  const float bound = 1.0f / std::sqrt(32.0f);
  double sum_sq = 0;
  for (int64_t i = 0; i < p.a.numel(); ++i) {
    float a = p.a.value().data<float>()[i];
    EXPECT_LE(std::fabs(a), bound);
    sum_sq += a * a;
  }
  EXPECT_NEAR(sum_sq / p.a.numel(), bound * bound / 3, bound * bound / 6);  // var of U(-b, b)
  for (int64_t i = 0; i < p.b.numel(); ++i) EXPECT_EQ(p.b.value().data<float>()[i], 0.0f);
  LoraAdapter again = LoraAdapter::create(tiny(), lc, 7);
  EXPECT_EQ(again.pairs[5].a.value().data<float>()[3], ad.pairs[5].a.value().data<float>()[3]);
  EXPECT_EQ(ad.find(1, ParamRole::Down), &ad.pairs[13]);
  EXPECT_EQ(ad.numel(), 2 * (4 * (32 + 32) * 2 + 4 * (32 + 16) * 2 + 4 * (32 + 48) * 2 + 4 * (48 + 32)));
}

TEST(Lora, ScalingAndValidation) {
  LoraConfig lc;
  lc.r = 16;
  lc.alpha = 32;
  EXPECT_FLOAT_EQ(lc.scaling(), 2.0f);
  lc.rslora = true;
  EXPECT_FLOAT_EQ(lc.scaling(), 8.0f);
  EXPECT_THROW(parse_lora_targets("q,attn"), Error);
  EXPECT_THROW(parse_lora_targets(" , "), Error);
  EXPECT_EQ(parse_lora_targets("all").size(), 7u);
  lc.dropout = 1.0f;
  EXPECT_THROW(lc.validate("x"), Error);
}

}  // namespace lora_test

}  // namespace baimo
