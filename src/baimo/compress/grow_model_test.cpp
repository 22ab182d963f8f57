#include "baimo/compress/grow_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/compress/compress_test_util.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/param_layout.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace baimo {
namespace grow_model_test {
using ag::testing::random_ids;

using testing::logits_of;
using testing::model_of;
using testing::random_params;

// The small config grown: hidden x k (heads and KV heads x k), MLP x f, `layers` layers.
ModelConfig grown(ModelConfig c, int64_t k, int64_t f, int64_t layers) {
  c.hidden_size *= k, c.num_attention_heads *= k, c.num_key_value_heads *= k;
  c.intermediate_size *= f;
  c.num_hidden_layers = layers;
  return c;
}

ModelConfig llama_with_o_bias() {
  ModelConfig c = testing::tiny_llama(2, 32);
  c.qkv_bias = c.o_bias = true;  // llama's attention_bias: q, k, v and o
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(GrowModel, IdentityDepthAndWidthKeepTheSmallModelsLogits) {
  for (ModelConfig small : {testing::tiny_qwen2(2, 32), testing::tiny_llama(2, 32), llama_with_o_bias()}) {
    // The grown residual is the small one / k, so RMSNorm's eps weighs k^2 more: exact without it.
    small.rms_norm_eps = 1e-12;
    for (auto [k, f, layers] : {std::tuple{1, 1, 2}, {2, 2, 5}, {3, 1, 3}, {1, 3, 4}, {2, 3, 2}}) {
      SCOPED_TRACE(small.model_type + (small.o_bias ? " o_bias" : "") + " width x" + std::to_string(k) + " ffn x" +
                   std::to_string(f) + " layers " + std::to_string(layers));
      const ModelConfig big = grown(small, k, f, layers);
      const ParamMap p = random_params(small, 5);
      const GrowthPlan plan = plan_growth(small, big, DepthGrowth::Identity);
      const ParamMap g = grow_model(small, p, big, plan, 0.1, 9);
      const Tensor ids = random_ids({2, 12}, static_cast<int32_t>(small.vocab_size), 4);
      const std::vector<float> want = logits_of(model_of(small, p), ids), got = logits_of(model_of(big, g), ids);
      ASSERT_EQ(want.size(), got.size());
      EXPECT_LT(testing::relative_gap(want, got), 2e-4f);
    }
  }
}

TEST(GrowModel, IdentityLayersFollowTheirSourceWithZeroOutputs) {
  const ModelConfig small = testing::tiny_qwen2(3);
  const GrowthPlan plan = plan_growth(small, grown(small, 1, 1, 8), DepthGrowth::Identity);
  EXPECT_EQ(plan.source, (std::vector<int64_t>{0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(plan.zero_output, (std::vector<bool>{false, true, false, true, true, false, true, true}));
  const ParamMap p = random_params(small, 2);
  const ParamMap g = grow_model(small, p, grown(small, 1, 1, 8), plan, 0.0, 1);
  for (const char* m : {"self_attn.o_proj.weight", "mlp.down_proj.weight"}) {
    for (float x : g.at(layer_param(1, m))) ASSERT_EQ(x, 0.0f) << m;
    EXPECT_EQ(g.at(layer_param(2, m)), p.at(layer_param(1, m))) << m;
  }
  EXPECT_EQ(g.at(layer_param(7, "self_attn.q_proj.weight")), p.at(layer_param(2, "self_attn.q_proj.weight")));
}

TEST(GrowModel, StackRepeatsTheLayersAndCopiesUnitsScaled) {
  const ModelConfig small = testing::tiny_llama(2);
  const ModelConfig big = grown(small, 2, 1, 5);
  const GrowthPlan plan = plan_growth(small, big, DepthGrowth::Stack);
  EXPECT_EQ(plan.source, (std::vector<int64_t>{0, 1, 0, 1, 0}));
  const ParamMap p = random_params(small, 3);
  const ParamMap g = grow_model(small, p, big, plan, 0.0, 1);
  // q_proj of big layer 3 = small layer 1's, (H*D, C) -> (2*H*D, 2*C), every block W / 2.
  const auto& w = p.at(layer_param(1, "self_attn.q_proj.weight"));
  const auto& w2 = g.at(layer_param(3, "self_attn.q_proj.weight"));
  const int64_t out = small.q_dim(), in = small.hidden_size;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < out; ++i)
        for (int64_t j = 0; j < in; ++j)
          ASSERT_EQ(w2[static_cast<size_t>((a * out + i) * 2 * in + b * in + j)], w[static_cast<size_t>(i * in + j)] / 2);
  // down_proj reads f = 1 copy of each MLP channel and writes the residual: / k.
  EXPECT_FLOAT_EQ(g.at(layer_param(0, "mlp.down_proj.weight"))[0], p.at(layer_param(0, "mlp.down_proj.weight"))[0] / 2);
  EXPECT_EQ(g.at("model.norm.weight").size(), 2u * small.hidden_size);
}

// Exact copies would get equal gradients and stay copies; the zero-sum noise makes them differ
// while the logits stay the small model's.
TEST(GrowModel, NoiseBreaksTheCopiesSymmetry) {
  const ModelConfig small = testing::tiny_qwen2(2, 32);
  const ModelConfig big = grown(small, 2, 2, 2);
  const ParamMap p = random_params(small, 6);
  const Tensor ids = random_ids({2, 10}, 64, 7);
  const Tensor targets = random_ids({2, 10}, 64, 8);
  auto copy_gap = [&](double noise) {
    const ParamMap g = grow_model(small, p, big, plan_growth(small, big, DepthGrowth::Identity), noise, 2);
    Transformer m = model_of(big, g);
    ag::backward(lm_loss(m, ids, targets));
    // gate_proj (2F, 2C): rows i and F + i are the two copies of MLP channel i.
    const float* grad = m.param(layer_param(0, "mlp.gate_proj.weight")).grad().data<float>();
    const int64_t F = small.intermediate_size, cols = big.hidden_size;
    double gap = 0, scale = 0;
    for (int64_t i = 0; i < F; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        gap += std::abs(grad[i * cols + j] - grad[(F + i) * cols + j]);
        scale += std::abs(grad[i * cols + j]);
      }
    ag::reset_step();
    return gap / scale;
  };
  EXPECT_LT(copy_gap(0.0), 1e-5);
  EXPECT_GT(copy_gap(0.1), 1e-2);
  // Zero-sum: the input copies of every weight add up to the unnoised weight.
  const ParamMap g = grow_model(small, p, big, plan_growth(small, big, DepthGrowth::Identity), 0.1, 2);
  const auto& w = p.at(layer_param(1, "self_attn.k_proj.weight"));
  const auto& w2 = g.at(layer_param(1, "self_attn.k_proj.weight"));
  const int64_t in = small.hidden_size;
  EXPECT_NE(w2[0], w2[static_cast<size_t>(in)]);
  for (int64_t j = 0; j < in; ++j) EXPECT_NEAR(w2[j] + w2[in + j], w[j], 1e-6);
}

TEST(GrowModel, BadConfigsAreClearErrors) {
  const ModelConfig s = testing::tiny_qwen2(2);
  auto err = [&](const std::function<void(ModelConfig&)>& edit) {
    ModelConfig b = grown(s, 2, 2, 4);
    edit(b);
    return error_of([&] { plan_growth(s, b, DepthGrowth::Stack); });
  };
  EXPECT_NE(err([](ModelConfig& b) { b.vocab_size = 65; }).find("vocab_size 65 differs from the small model's 64"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.head_dim = 16, b.num_attention_heads = 4, b.num_key_value_heads = 2; })
                .find("head_dim 16 differs"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.hidden_size = 48; }).find("hidden_size 48 is not a whole multiple of the "
                                                                 "small model's 32"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.intermediate_size = 72; }).find("intermediate_size 72"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.num_key_value_heads = 2; }).find("num_key_value_heads 2 must be 2 x"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.num_hidden_layers = 1; }).find("num_hidden_layers 1 is fewer"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.model_type = "llama"; }).find("model_type"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.tie_word_embeddings = false; }).find("tie_word_embeddings"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.rope_theta = 1e6; }).find("rope_theta"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& b) { b.head = ModelHead::SequenceClassification; }).find("reward model"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_depth_growth("deep"); }).find("expected stack or identity"), std::string::npos);
  EXPECT_NE(error_of([&] { grow_model(s, random_params(s, 1), s, plan_growth(s, s, DepthGrowth::Stack), -1, 0); })
                .find("--noise -1"),
            std::string::npos);
}

}  // namespace grow_model_test
}  // namespace baimo
