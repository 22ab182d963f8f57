// live_weights: over a full model it shares the parameter buffers (pointer equality) and sees an
// in-place update; with a LoRA adapter attached the rollouts' log-probs are the adapted training
// forward's; over a frozen base (F32 frozen and Q8_0 packed-only) it keeps the base's blocks.
#include "baimo/infer/live_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/convert/training_base.h"
#include "baimo/infer/rollout.h"
#include "baimo/infer/rollout_test_util.h"
#include "baimo/util/temp_dir.h"

namespace live_weights_test {
using namespace baimo;
using namespace baimo::rollout_testing;

const std::vector<std::vector<int32_t>> kPrompts = {{72, 105, 33}, {84, 104, 101, 32, 99, 97, 116}};

// Rollouts of `m` through live_weights; every sample's model log-probs against the training forward.
float max_logprob_error(const Transformer& m) {
  auto w = std::make_shared<const ModelWeights>(live_weights(m));
  RolloutOptions o;
  o.slots = 4;
  o.ctx = 64;
  o.max_new_tokens = 10;
  o.samples = 2;
  o.seed = 3;
  float worst = 0;
  const auto got = generate_rollouts(w, byte_tokenizer(), kPrompts, o);
  for (size_t p = 0; p < kPrompts.size(); ++p)
    for (const RolloutSample& s : got[p]) {
      const std::vector<float> want = training_logprobs(m, kPrompts[p], s.tokens);
      for (size_t t = 0; t < want.size(); ++t) worst = std::max(worst, std::fabs(s.model_logprobs[t] - want[t]));
    }
  return worst;
}

void randomize(const ag::Var& v, uint64_t seed, float scale) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> n(0.f, scale);
  float* d = v.value().data<float>();
  for (int64_t i = 0; i < v.numel(); ++i) d[i] = n(rng);
}

TEST(LiveWeights, FullModelSharesBuffersAndSeesInPlaceUpdates) {
  Transformer m = Transformer::random(tiny_config(), 4);
  auto w = std::make_shared<const ModelWeights>(live_weights(m));
  EXPECT_EQ(w->layers[0].q.data, m.param("model.layers.0.self_attn.q_proj.weight").value().data<float>());
  EXPECT_EQ(w->embed.data, m.param("model.embed_tokens.weight").value().data<float>());
  EXPECT_EQ(w->layers[1].mlp_norm, m.param("model.layers.1.post_attention_layernorm.weight").value().data<float>());
  EXPECT_LT(max_logprob_error(m), 1e-4f);
  // An optimizer-style in-place update: the same ModelWeights object sees it.
  const ag::Var& down = m.param("model.layers.1.mlp.down_proj.weight");
  randomize(down, 9, 0.3f);
  RolloutOptions o;
  o.ctx = 64;
  o.max_new_tokens = 6;
  o.temperature = 0;
  const auto got = generate_rollouts(w, byte_tokenizer(), kPrompts, o);
  for (size_t p = 0; p < kPrompts.size(); ++p) {
    const std::vector<float> want = training_logprobs(m, kPrompts[p], got[p][0].tokens);
    for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(got[p][0].model_logprobs[t], want[t], 1e-4f);
  }
}

TEST(LiveWeights, LoraAttachedGivesTheMergedModel) {
  Transformer m = Transformer::random(tiny_config(), 6);
  LoraConfig lc;
  lc.r = 4;
  LoraAdapter ad = LoraAdapter::create(m.config(), lc, 7);
  for (size_t i = 0; i < ad.pairs.size(); ++i) randomize(ad.pairs[i].b, 100 + i, 0.2f);  // B = 0 would be no change
  m.attach_lora(&ad);
  const ModelWeights w = live_weights(m);
  // Adapted matrices are new f32 buffers; the rest is shared.
  EXPECT_NE(w.layers[0].q.data, m.param("model.layers.0.self_attn.q_proj.weight").value().data<float>());
  EXPECT_EQ(w.layers[0].q.type, DType::F32);
  EXPECT_EQ(w.embed.data, m.param("model.embed_tokens.weight").value().data<float>());
  EXPECT_LT(max_logprob_error(m), 1e-4f);
  m.attach_lora(nullptr);
  EXPECT_EQ(live_weights(m).layers[0].q.data, m.param("model.layers.0.self_attn.q_proj.weight").value().data<float>());
}

TEST(LiveWeights, FrozenBaseKeepsItsBlocks) {
  const ModelConfig c = tiny_config();
  TempDir t("baimo_live_weights");
  Transformer::random(c, 8).save(t.dir.string());
  for (DType type : {DType::F16, DType::Q8_0}) {
    SCOPED_TRACE(dtype_info(type).name);
    Transformer base = load_training_base(t.dir.string(), BaseStorage::Frozen, type);
    ASSERT_FALSE(base.frozen_params().empty());
    const ModelWeights w = live_weights(base);
    for (const Transformer::FrozenParam& f : base.frozen_params())
      if (f.spec.name == "model.layers.0.mlp.up_proj.weight") {
        EXPECT_EQ(w.layers[0].up.data, f.w.data);
        EXPECT_EQ(w.layers[0].up.packed, f.w.packed);
        EXPECT_EQ(w.layers[0].up.type, type);
      }
    // F16: the same f32 arithmetic as training; Q8_0: both quantize activations to int8 blocks.
    EXPECT_LT(max_logprob_error(base), type == DType::F16 ? 1e-3f : 0.1f);
    LoraConfig lc;
    lc.r = 2;
    LoraAdapter ad = LoraAdapter::create(c, lc, 1);
    for (size_t i = 0; i < ad.pairs.size(); ++i) randomize(ad.pairs[i].b, 200 + i, 0.2f);
    base.attach_lora(&ad);
    EXPECT_LT(max_logprob_error(base), type == DType::F16 ? 1e-3f : 0.1f);
  }
}

}  // namespace live_weights_test
