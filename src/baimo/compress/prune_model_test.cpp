#include "baimo/compress/prune_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/compress/calib_forward.h"
#include "baimo/infer/engine.h"
#include "baimo/kernels/decode_ops.h"
#include "baimo/model/init.h"
#include "baimo/model/param_layout.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/util/error.h"

namespace baimo {
namespace prune_model_test {

ModelConfig qwen2_config() { return baimo::testing::tiny_qwen2(2, 64); }

using Params = std::map<std::string, std::vector<float>>;

Params random_params(const ModelConfig& c) {
  Params p;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  for (const ParamSpec& s : param_layout(c)) {
    auto& v = p[s.name];
    v.resize(static_cast<size_t>(s.numel()));
    init_param(s, 0.2, 3, v);
    if (s.kind != ParamKind::Matrix && s.kind != ParamKind::Embedding)
      for (float& x : v) x += nd(rng);  // non-trivial norms and biases
  }
  return p;
}

std::vector<std::vector<int32_t>> random_seqs(const ModelConfig& c, std::vector<size_t> lens) {
  std::mt19937 rng(11);
  std::vector<std::vector<int32_t>> s;
  for (size_t n : lens) {
    s.emplace_back(n);
    for (auto& id : s.back()) id = static_cast<int32_t>(rng() % c.vocab_size);
  }
  return s;
}

ModelWeights f32_weights(const ModelConfig& c, Params& p) {
  ModelWeights w;
  w.config = c;
  fill_model_weights(
      w,
      [&](const ParamSpec& s) {
        WeightMatrix m;
        m.data = p.at(s.name).data(), m.rows = s.shape[0], m.cols = s.shape[1];
        return m;
      },
      [&](const ParamSpec& s) -> const float* { return p.at(s.name).data(); });
  return w;
}

bool is_block_matrix(const ParamSpec& s) { return s.layer >= 0 && s.kind == ParamKind::Matrix; }

// Every row of every block matrix has exactly cols / 2 zeros; everything else is untouched.
void expect_half_rows(const ModelConfig& c, const Params& before, const Params& after) {
  for (const ParamSpec& s : param_layout(c)) {
    const auto& a = after.at(s.name);
    if (!is_block_matrix(s)) {
      EXPECT_EQ(a, before.at(s.name)) << s.name;
      continue;
    }
    for (int64_t r = 0; r < s.shape[0]; ++r) {
      int64_t z = 0;
      for (int64_t j = 0; j < s.shape[1]; ++j) {
        const float x = a[static_cast<size_t>(r * s.shape[1] + j)];
        z += x == 0.0f;
        if (x != 0.0f) {
          EXPECT_EQ(x, before.at(s.name)[static_cast<size_t>(r * s.shape[1] + j)]);
        }
      }
      ASSERT_EQ(z, s.shape[1] / 2) << s.name << " row " << r;
    }
  }
}

TEST(PruneModel, CalibrationForwardMatchesTheEngine) {
  const ModelConfig c = qwen2_config();
  Params p = random_params(c);
  auto w = std::make_shared<ModelWeights>(f32_weights(c, p));
  const auto seqs = random_seqs(c, {9, 17});
  CalibrationForward fwd(*w, seqs);
  // Layer 0's q/k/v input: rmsnorm of the embedding rows.
  const LayerInputSquares sq = fwd.input_squares(0);
  std::vector<double> want(static_cast<size_t>(c.hidden_size), 0.0);
  std::vector<float> h(static_cast<size_t>(c.hidden_size));
  for (const auto& s : seqs)
    for (int32_t id : s) {
      rmsnorm_row(p.at("model.embed_tokens.weight").data() + id * c.hidden_size, w->layers[0].attn_norm,
                  c.hidden_size, static_cast<float>(c.rms_norm_eps), h.data());
      for (size_t j = 0; j < h.size(); ++j) want[j] += static_cast<double>(h[j]) * h[j];
    }
  for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(sq.attn_in[j], want[j], 1e-4 * want[j]) << j;
  EXPECT_EQ(sq.tokens, 26);
  // After every layer: the final norm and LM head of the residual give the engine's logits.
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) fwd.advance(l);
  Engine engine(w, 1, 32);
  const int64_t C = c.hidden_size, V = c.vocab_size;
  size_t row = 0;
  for (const auto& s : seqs) {
    engine.cache().truncate(0, 0);
    std::vector<float> logits;
    const Engine::Chunk ch{0, s, true};
    engine.forward(std::span(&ch, 1), logits);
    for (size_t t = 0; t < s.size(); ++t, ++row) {
      rmsnorm_row(fwd.residual().data() + row * C, w->final_norm, C, static_cast<float>(c.rms_norm_eps), h.data());
      for (int64_t v = 0; v < V; ++v) {
        double d = 0;
        for (int64_t j = 0; j < C; ++j) d += static_cast<double>(h[j]) * p.at("model.embed_tokens.weight")[v * C + j];
        ASSERT_NEAR(d, logits[t * V + v], 1e-3) << "token " << t << " vocab " << v;
      }
    }
  }
}

TEST(PruneModel, MagnitudeHalvesEveryRowOfTheBlockMatrices) {
  const ModelConfig c = qwen2_config();
  const Params before = random_params(c);
  Params p = before;
  const auto out = prune_model(c, p, PruneMethod::Magnitude, unstructured_prune_spec(0.5));
  ASSERT_EQ(out.size(), 14u);
  EXPECT_EQ(out[0].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(out[13].layer, 1);
  for (const auto& m : out) EXPECT_EQ(m.zeros * 2, m.rows * m.cols) << m.name;
  expect_half_rows(c, before, p);
}

TEST(PruneModel, WandaTwoOfFour) {
  const ModelConfig c = qwen2_config();
  const Params before = random_params(c);
  Params p = before, mag = before;
  const PruneSpec s = parse_prune_pattern("2:4");
  prune_model(c, p, PruneMethod::Wanda, s, random_seqs(c, {12, 20}));
  prune_model(c, mag, PruneMethod::Magnitude, s);
  Params half = before;
  prune_model(c, half, PruneMethod::Wanda, unstructured_prune_spec(0.5), random_seqs(c, {12, 20}));
  expect_half_rows(c, before, half);
  size_t differ = 0;
  for (const ParamSpec& sp : param_layout(c)) {
    if (!is_block_matrix(sp)) {
      EXPECT_EQ(p.at(sp.name), before.at(sp.name));
      continue;
    }
    const auto& a = p.at(sp.name);
    for (size_t g = 0; g < a.size(); g += 4) {
      int z = 0;
      for (size_t j = g; j < g + 4; ++j) z += a[j] == 0.0f;
      ASSERT_EQ(z, 2) << sp.name << " group at " << g;
    }
    differ += a != mag.at(sp.name);
  }
  EXPECT_GT(differ, 0u);  // the activations do change the masks
  EXPECT_THROW(prune_model(c, p, PruneMethod::Wanda, s, {}), Error);
}

TEST(PruneModel, IndivisibleInputNamesTheMatrix) {
  ModelConfig c = qwen2_config();
  c.intermediate_size = 50;  // down_proj (32, 50)
  Params p = random_params(c);
  const Params before = p;
  try {
    prune_model(c, p, PruneMethod::Magnitude, parse_prune_pattern("2:4"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.down_proj.weight (32, 50)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(p, before);  // checked before anything changed
  EXPECT_THROW(parse_prune_method("random"), Error);
}

}  // namespace prune_model_test
}  // namespace baimo
