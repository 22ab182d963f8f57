#include "baimo/compress/structured_prune.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "baimo/autograd/test_util.h"
#include "baimo/compress/compress_test_util.h"
#include "baimo/model/param_layout.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/util/error.h"

namespace baimo {
namespace structured_prune_test {
using ag::testing::random_ids;
using testing::logits_of;
using testing::model_of;
using testing::random_params;

// 3 layers, 8 query heads over 4 KV groups of 2, MLP 48.
ModelConfig big_config(bool qwen) {
  ModelConfig c = qwen ? testing::tiny_qwen2(3, 32) : testing::tiny_llama(3, 32);
  c.num_attention_heads = 8, c.num_key_value_heads = 4, c.head_dim = 4;
  return c;
}

ModelConfig target(ModelConfig c, int64_t layers, int64_t kv, int64_t ffn) {
  c.num_attention_heads = c.num_attention_heads / c.num_key_value_heads * kv;
  c.num_key_value_heads = kv, c.num_hidden_layers = layers, c.intermediate_size = ffn;
  return c;
}

// Zero what a plan removes: a dropped layer writes nothing to the residual (o_proj, o bias, down_proj
// zero), a dropped KV group's query heads write nothing (their o_proj columns zero), a dropped
// channel adds nothing (its down_proj column zero). The big model so changed = the pruned model.
ParamMap silence_removed(const ModelConfig& c, ParamMap p, const StructuredPlan& plan) {
  const int64_t D = c.head_dim, G = c.num_attention_heads / c.num_key_value_heads, C = c.hidden_size;
  size_t k = 0;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto& o = p.at(layer_param(l, "self_attn.o_proj.weight"));
    auto& down = p.at(layer_param(l, "mlp.down_proj.weight"));
    const bool kept = k < plan.layers.size() && plan.layers[k] == l;
    for (int64_t h = 0; h < c.num_attention_heads; ++h) {
      const auto& groups = kept ? plan.kv_groups[k] : std::vector<int64_t>{};
      if (std::find(groups.begin(), groups.end(), h / G) != groups.end()) continue;
      for (int64_t r = 0; r < C; ++r)
        for (int64_t d = 0; d < D; ++d) o[static_cast<size_t>(r * c.q_dim() + h * D + d)] = 0;
    }
    for (int64_t ch = 0; ch < c.intermediate_size; ++ch) {
      const auto& chans = kept ? plan.channels[k] : std::vector<int64_t>{};
      if (std::find(chans.begin(), chans.end(), ch) != chans.end()) continue;
      for (int64_t r = 0; r < C; ++r) down[static_cast<size_t>(r * c.intermediate_size + ch)] = 0;
    }
    if (!kept && c.o_bias)
      for (float& x : p.at(layer_param(l, "self_attn.o_proj.bias"))) x = 0;
    k += kept;
  }
  return p;
}

TEST(StructuredPrune, ThePrunedModelIsTheBigOneWithTheRemovedPartsSilenced) {
  for (bool qwen : {true, false}) {
    SCOPED_TRACE(qwen ? "qwen2" : "llama");
    ModelConfig big = big_config(qwen);
    if (!qwen) big.qkv_bias = big.o_bias = true;  // llama's attention_bias
    const ModelConfig small = target(big, 2, 2, 20);
    const ParamMap p = random_params(big, 4);
    StructuredPlan plan;
    plan.layers = {0, 2};
    plan.kv_groups = {{1, 3}, {0, 2}};
    plan.channels = {{}, {}};
    for (int64_t i = 0; i < 20; ++i) plan.channels[0].push_back(2 * i), plan.channels[1].push_back(47 - 2 * i);
    std::sort(plan.channels[1].begin(), plan.channels[1].end());
    const ParamMap cut = apply_structured_prune(big, p, small, plan);
    const Tensor ids = random_ids({2, 9}, 64, 3);
    EXPECT_LT(testing::relative_gap(logits_of(model_of(big, silence_removed(big, p, plan)), ids),
                                    logits_of(model_of(small, cut), ids)),
              1e-5f);
  }
}

TEST(StructuredPrune, TheSameConfigKeepsEverything) {
  const ModelConfig c = big_config(true);
  const ParamMap p = random_params(c, 2);
  std::vector<std::vector<int32_t>> calib = {{1, 2, 3, 4, 5, 6}, {7, 8, 9}};
  const StructuredPlan plan = plan_structured_prune(c, c, measure_structure_importance(c, p, calib));
  EXPECT_EQ(plan.layers, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(apply_structured_prune(c, p, c, plan), p);
}

// Parts made inert are measured as unimportant and go first.
TEST(StructuredPrune, ImportanceFindsTheInertLayerGroupAndChannels) {
  const ModelConfig c = big_config(false);
  ParamMap p = random_params(c, 5);
  for (const char* m : {"self_attn.o_proj.weight", "mlp.down_proj.weight"})
    for (float& x : p.at(layer_param(1, m))) x = 0;  // layer 1 leaves the residual as it is
  for (int64_t r = 2 * c.head_dim; r < 3 * c.head_dim; ++r)  // layer 0, KV group 2: zero values
    for (int64_t j = 0; j < c.hidden_size; ++j) p.at(layer_param(0, "self_attn.v_proj.weight"))[r * c.hidden_size + j] = 0;
  for (int64_t ch : {5, 30})  // layer 2, channels 5 and 30: zero up_proj rows
    for (int64_t j = 0; j < c.hidden_size; ++j) p.at(layer_param(2, "mlp.up_proj.weight"))[ch * c.hidden_size + j] = 0;
  std::mt19937 rng(1);
  std::vector<std::vector<int32_t>> calib(4, std::vector<int32_t>(16));
  for (auto& s : calib)
    for (auto& id : s) id = static_cast<int32_t>(rng() % 64);
  const StructureImportance imp = measure_structure_importance(c, p, calib);
  EXPECT_NEAR(imp.layer[1], 0.0, 1e-6);
  EXPECT_GT(imp.layer[0], 1e-3);
  EXPECT_EQ(imp.kv_group[0][2], 0.0);
  EXPECT_EQ(imp.channel[2][5], 0.0);
  const StructuredPlan plan = plan_structured_prune(c, target(c, 2, 3, 46), imp);
  EXPECT_EQ(plan.layers, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(plan.kv_groups[0], (std::vector<int64_t>{0, 1, 3}));
  const auto& ch = plan.channels[1];
  EXPECT_EQ(ch.size(), 46u);
  EXPECT_EQ(std::count(ch.begin(), ch.end(), 5) + std::count(ch.begin(), ch.end(), 30), 0);
}

TEST(StructuredPrune, BadTargetsAreClearErrors) {
  const ModelConfig c = big_config(true);
  auto err = [&](const std::function<void(ModelConfig&)>& edit) {
    ModelConfig t = target(c, 2, 2, 24);
    edit(t);
    try {
      check_structured_target(c, t);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(err([](ModelConfig&) {}), "no error");
  EXPECT_NE(err([](ModelConfig& t) { t.hidden_size = 16; }).find("hidden_size 16 differs"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& t) { t.num_hidden_layers = 4; }).find("num_hidden_layers 4 exceeds"), std::string::npos);
  EXPECT_NE(err([](ModelConfig& t) { t.num_key_value_heads = 5, t.num_attention_heads = 10; }).find("exceeds"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& t) { t.num_attention_heads = 2; }).find("must keep the model's 2 query heads per KV"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& t) { t.intermediate_size = 64; }).find("intermediate_size 64 exceeds"),
            std::string::npos);
  EXPECT_NE(err([](ModelConfig& t) { t.vocab_size = 60; }).find("vocab_size 60 differs from the model's 64"),
            std::string::npos);
}

}  // namespace structured_prune_test
}  // namespace baimo
