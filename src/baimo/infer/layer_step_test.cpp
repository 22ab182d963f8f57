// LayerStep: the step functions give the same bits however rows and output columns are split (the
// prefill path runs them over all rows, the decode team over its items' column ranges), and each
// stage does what layer_step.h says (checked against a direct computation).
#include "baimo/infer/layer_step.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/model/transformer.h"

namespace layer_step_test {
using namespace baimo;

ModelConfig config() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 16;
  c.qkv_bias = true;
  c.o_bias = true;
  c.initializer_range = 0.3;
  return c;
}

// A step of n rows with random activations, owning its buffers.
struct Step {
  std::vector<int32_t> ids, pos, slot;
  std::vector<float> x, q, k, v, att, tmp, gate, up;
  StepRows rows;
  Step(const ModelConfig& c, int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    auto fill = [&](std::vector<float>& b, int64_t w) {
      b.resize(static_cast<size_t>(n * w));
      for (float& f : b) f = nd(rng);
    };
    for (int64_t r = 0; r < n; ++r) {
      ids.push_back(static_cast<int32_t>(r * 7 % c.vocab_size));
      pos.push_back(static_cast<int32_t>(3 + r));
      slot.push_back(static_cast<int32_t>(r % 2));
    }
    fill(x, c.hidden_size), fill(q, c.q_dim()), fill(k, c.kv_dim()), fill(v, c.kv_dim());
    fill(att, c.q_dim()), fill(tmp, c.hidden_size), fill(gate, c.intermediate_size), fill(up, c.intermediate_size);
    rows = {n, ids.data(), pos.data(), slot.data(), x.data(), q.data(), att.data(), k.data(), v.data(), tmp.data(),
            gate.data(), up.data()};
  }
};

TEST(LayerStep, FinishGivesTheSameBitsForAnySplit) {
  const ModelConfig c = config();
  const ModelWeights w = weights_from_transformer(Transformer::random(c, 3));
  const RopeTable rope(static_cast<float>(c.rope_theta), c.head_dim, 16);
  const int64_t n = 5;
  for (int si = 0; si < LayerStep::kStages; ++si) {
    const auto s = static_cast<LayerStep::Stage>(si);
    if (s == LayerStep::kAttend) continue;
    Step whole(c, n, 11), split(c, n, 11);
    KvCache cache_a(c, 2, 16), cache_b(c, 2, 16);
    const LayerStep a(c, w.layers[0], 0, cache_a, rope, whole.rows), b(c, w.layers[0], 0, cache_b, rope, split.rows);
    const StepProduct p = a.product(s);
    ASSERT_GT(p.count, 0);
    const bool paired = p.layout == TeamLayout::Paired;
    for (int i = 0; i < (paired ? 1 : p.count); ++i) {
      const int64_t cols = p.ws[i]->rows, mi = paired ? -1 : i;
      a.finish(s, static_cast<int>(mi), 0, cols, 0, n);
      // Column pieces of p.align (whole heads for q/k/v), rows one at a time, in reverse order.
      for (int64_t c0 = cols; c0 > 0; c0 -= p.align)
        for (int64_t r = n - 1; r >= 0; --r)
          b.finish(s, static_cast<int>(mi), std::max<int64_t>(0, c0 - p.align), c0, r, r + 1);
    }
    EXPECT_EQ(whole.x, split.x) << si;
    EXPECT_EQ(whole.q, split.q) << si;
    EXPECT_EQ(whole.k, split.k) << si;
    EXPECT_EQ(whole.v, split.v) << si;
    EXPECT_EQ(whole.gate, split.gate) << si;
    if (s == LayerStep::kQkv)  // the written cache rows: (slot, position) of each step row
      for (int64_t r = 0; r < n; ++r)
        for (int64_t e = 0; e < c.kv_dim(); ++e) {
          const int64_t off = whole.pos[r] * c.kv_dim() + e;
          ASSERT_EQ(cache_a.keys(0, whole.slot[r])[off], cache_b.keys(0, whole.slot[r])[off]);
          ASSERT_EQ(cache_a.values(0, whole.slot[r])[off], cache_b.values(0, whole.slot[r])[off]);
        }
  }
}

TEST(LayerStep, StagesDoWhatTheHeaderSays) {
  const ModelConfig c = config();
  const ModelWeights w = weights_from_transformer(Transformer::random(c, 4));
  const LayerWeights& L = w.layers[0];
  const RopeTable rope(static_cast<float>(c.rope_theta), c.head_dim, 16);
  const int64_t n = 3, C = c.hidden_size, F = c.intermediate_size, KVD = c.kv_dim(), D = c.head_dim;
  Step st(c, n, 5);
  const Step before = st;
  KvCache cache(c, 2, 16);
  const LayerStep step(c, L, 0, cache, rope, st.rows);
  // The norm of the attention stage: x * rsqrt(mean(x^2) + eps) * attn_norm.
  std::vector<float> h(static_cast<size_t>(n * C));
  step.norm(LayerStep::kQkv, 0, n, h.data());
  EXPECT_EQ(step.norm_weight(LayerStep::kO), nullptr);
  for (int64_t r = 0; r < n; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < C; ++j) ss += double(st.x[r * C + j]) * st.x[r * C + j];
    const double s = 1 / std::sqrt(ss / C + c.rms_norm_eps);
    for (int64_t j = 0; j < C; ++j) EXPECT_NEAR(h[r * C + j], st.x[r * C + j] * s * L.attn_norm[j], 1e-5);
  }
  // q/k/v finish: + bias, rope (position 3 + r), k and v into the cache of the row's slot.
  step.finish(LayerStep::kQkv, 1, 0, KVD, 0, n);
  step.finish(LayerStep::kQkv, 2, 0, KVD, 0, n);
  for (int64_t r = 0; r < n; ++r) {
    const float* kc = cache.keys(0, st.slot[r]) + st.pos[r] * KVD;
    const float* vc = cache.values(0, st.slot[r]) + st.pos[r] * KVD;
    for (int64_t j = 0; j < KVD; ++j) {
      EXPECT_EQ(vc[j], before.v[r * KVD + j] + L.v_bias[j]);
      EXPECT_EQ(kc[j], st.k[r * KVD + j]);
    }
    for (int64_t hd = 0; hd < KVD / D; ++hd)
      for (int64_t i = 0; i < D / 2; ++i) {
        const double f = std::pow(c.rope_theta, -2.0 * i / D), ang = st.pos[r] * f;
        const double x1 = before.k[r * KVD + hd * D + i] + L.k_bias[hd * D + i];
        const double x2 = before.k[r * KVD + hd * D + D / 2 + i] + L.k_bias[hd * D + D / 2 + i];
        EXPECT_NEAR(kc[hd * D + i], x1 * std::cos(ang) - x2 * std::sin(ang), 1e-4);
        EXPECT_NEAR(kc[hd * D + D / 2 + i], x2 * std::cos(ang) + x1 * std::sin(ang), 1e-4);
      }
  }
  // o finish: x += tmp + o_bias; gate/up: gate = silu(gate) * up; down: x += tmp.
  step.finish(LayerStep::kO, 0, 0, C, 0, n);
  step.finish(LayerStep::kGateUp, -1, 0, F, 0, n);
  for (int64_t e = 0; e < n * C; ++e)
    EXPECT_EQ(st.x[e], before.x[e] + (before.tmp[e] + L.o_bias[e % C]));
  for (int64_t e = 0; e < n * F; ++e) {
    const double g = before.gate[e];
    const double want = g / (1 + std::exp(-g)) * before.up[e];
    EXPECT_NEAR(st.gate[e], want, 1e-4 * (1 + std::fabs(want)));
  }
  const std::vector<float> x1 = st.x;
  step.finish(LayerStep::kDown, 0, 0, C, 0, n);
  for (int64_t e = 0; e < n * C; ++e) EXPECT_EQ(st.x[e], x1[e] + before.tmp[e]);
}

}  // namespace layer_step_test
