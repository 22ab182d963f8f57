// Transformer with a LoRA adapter: a fresh adapter changes nothing, a trained one equals the
// hand-merged model W + scaling B A (alpha / r and rslora), detaching restores the base, a frozen
// base gets no gradient buffers, dropout is deterministic per seed and off in eval, gradients of
// A and B through the whole model match finite differences; resize_vocab. Transformer::token_logprobs
// equals ag::token_logprobs of the explicit logits (values, 0 at ignored targets, and gradients of an
// arbitrary upstream gradient) for a tied and an untied head, packed rows, and a frozen (F32
// WeightMatrix) base with a LoRA adapter attached.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/model/lora.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/model/transformer.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace transformer_lora_test {
using namespace baimo;

ModelConfig qwen_like() { return baimo::testing::tiny_qwen2(2, 16); }

ModelConfig llama_like() { return baimo::testing::tiny_llama(2, 16); }

Tensor ids_of(int64_t B, int64_t T, int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = static_cast<int32_t>(rng() % V);
  return Tensor::from_ids({B, T}, v);
}

std::vector<float> values(const ag::Var& v) {
  const float* p = v.value().data<float>();
  return {p, p + v.numel()};
}

std::vector<float> logits_of(const Transformer& m, const Tensor& ids) {
  std::vector<float> out = values(m.logits(ids));
  ag::reset_step();
  return out;
}

void fill_random(const ag::Var& v, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  float* p = v.value().data<float>();
  for (int64_t i = 0; i < v.numel(); ++i) p[i] = d(rng);
}

float max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float num = 0, den = 1e-30f;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(a[i] - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return num / den;
}

class TransformerLora : public ::testing::TestWithParam<bool> {  // param: tied qwen-like / untied llama-like
 protected:
  void TearDown() override { ag::reset_step(); }
  ModelConfig cfg() const { return GetParam() ? qwen_like() : llama_like(); }
};

TEST_P(TransformerLora, FreshAdapterLeavesLogitsUnchanged) {
  Transformer m = Transformer::random(cfg(), 3);
  Tensor ids = ids_of(2, 9, cfg().vocab_size, 1);
  std::vector<float> base = logits_of(m, ids);
  LoraAdapter ad = LoraAdapter::create(cfg(), LoraConfig{}, 5);
  m.attach_lora(&ad);
  EXPECT_EQ(m.lora(), &ad);
  EXPECT_EQ(logits_of(m, ids), base);
  m.set_lora_dropout(17);  // B = 0: dropout cannot matter either
  EXPECT_EQ(logits_of(m, ids), base);
}

// With random B the model equals the base whose W is replaced by W + scaling B A (merged by hand).
void check_merge(const ModelConfig& cfg, bool rslora) {
  Transformer m = Transformer::random(cfg, 3);
  Tensor ids = ids_of(2, 9, cfg.vocab_size, 2);
  std::vector<float> base = logits_of(m, ids);
  LoraConfig lc;
  lc.r = 4;
  lc.alpha = 6.f;
  lc.rslora = rslora;
  lc.dropout = 0.25f;  // eval: no dropout until set_lora_dropout(seed)
  const float s = rslora ? 6.f / 2.f : 6.f / 4.f;
  ASSERT_FLOAT_EQ(lc.scaling(), s);
  LoraAdapter ad = LoraAdapter::create(cfg, lc, 5);
  uint32_t seed = 100;
  for (auto& p : ad.pairs) fill_random(p.b, seed++, 0.05f);
  m.attach_lora(&ad);
  std::vector<float> with = logits_of(m, ids);

  Transformer merged = Transformer::random(cfg, 3);  // an independent copy of the base
  for (const auto& p : ad.pairs) {
    float* W = merged.param(p.spec.base_name).value().data<float>();
    const float *A = p.a.value().data<float>(), *B = p.b.value().data<float>();
    for (int64_t o = 0; o < p.spec.out; ++o)
      for (int64_t i = 0; i < p.spec.in; ++i) {
        double d = 0;
        for (int64_t k = 0; k < lc.r; ++k) d += double(B[o * lc.r + k]) * A[k * p.spec.in + i];
        W[o * p.spec.in + i] += static_cast<float>(s * d);
      }
  }
  std::vector<float> want = logits_of(merged, ids);
  EXPECT_LT(max_rel_diff(with, want), 1e-5f);
  EXPECT_GT(max_rel_diff(with, base), 1e-3f);  // the adapter matters
  // Dropout on: different logits, the same for the same seed; off again: eval logits.
  m.set_lora_dropout(7);
  std::vector<float> d7 = logits_of(m, ids);
  EXPECT_GT(max_rel_diff(d7, with), 1e-4f);
  EXPECT_EQ(logits_of(m, ids), d7);
  m.set_lora_dropout(8);
  EXPECT_NE(logits_of(m, ids), d7);
  m.set_lora_dropout(std::nullopt);
  EXPECT_EQ(logits_of(m, ids), with);
  // Detached: the base again, bit for bit.
  m.attach_lora(nullptr);
  EXPECT_EQ(m.lora(), nullptr);
  EXPECT_EQ(logits_of(m, ids), base);
}

TEST_P(TransformerLora, RandomAdapterEqualsHandMergedWeights) { check_merge(cfg(), false); }
TEST_P(TransformerLora, RsloraScalingEqualsHandMergedWeights) { check_merge(cfg(), true); }

TEST_P(TransformerLora, FrozenBaseGetsNoGradientBuffers) {
  Transformer m = Transformer::random(cfg(), 3);
  LoraAdapter ad = LoraAdapter::create(cfg(), LoraConfig{}, 5);
  m.set_base_trainable(false);
  m.attach_lora(&ad);
  m.set_lora_dropout(1);
  Tensor ids = ids_of(2, 9, cfg().vocab_size, 1), tg = ids_of(2, 9, cfg().vocab_size, 2);
  ag::backward(ag::cross_entropy(m.logits(ids), tg));
  for (const auto& p : m.params()) {
    EXPECT_FALSE(p.var.requires_grad()) << p.spec.name;
    EXPECT_FALSE(p.var.node()->grad.defined()) << p.spec.name;
  }
  for (const auto& p : ad.pairs) {
    EXPECT_TRUE(p.a.has_grad()) << p.spec.a_name;  // all zero while B = 0, but written
    ASSERT_TRUE(p.b.has_grad()) << p.spec.b_name;
    Tensor g = p.b.grad();
    double n = 0;
    for (int64_t i = 0; i < g.numel(); ++i) n += double(g.data<float>()[i]) * g.data<float>()[i];
    EXPECT_GT(n, 0) << p.spec.b_name;
  }
  // Trainable again: the base gets gradients.
  ag::reset_step();
  m.set_base_trainable(true);
  ag::backward(ag::cross_entropy(m.logits(ids), tg));
  for (const auto& p : m.params()) EXPECT_TRUE(p.var.has_grad()) << p.spec.name;
}

TEST_P(TransformerLora, AdapterGradientsThroughTheModelMatchFiniteDifferences) {
  Transformer m = Transformer::random(cfg(), 3);
  LoraConfig lc;
  lc.r = 2;
  lc.dropout = 0.3f;
  lc.targets = parse_lora_targets("q,v,o,down");
  LoraAdapter ad = LoraAdapter::create(cfg(), lc, 5);
  for (size_t i = 0; i < ad.pairs.size(); ++i) fill_random(ad.pairs[i].b, 40 + uint32_t(i), 0.3f);
  m.set_base_trainable(false);
  m.attach_lora(&ad);
  m.set_lora_dropout(123);
  Tensor ids = ids_of(2, 6, cfg().vocab_size, 1), tg = ids_of(2, 6, cfg().vocab_size, 2);
  std::vector<ag::Var> in;
  for (const auto& p : ad.pairs) {
    in.push_back(p.a);
    in.push_back(p.b);
  }
  ag::GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 2e-2f;
  o.atol = 1e-3f;
  o.max_checks = 6;
  auto r = ag::gradcheck([&](const std::vector<ag::Var>&) { return ag::cross_entropy(m.logits(ids), tg); }, in, o);
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_EQ(r.checked, 6 * static_cast<int>(in.size()));
}

TEST_P(TransformerLora, MismatchedAdapterIsAnError) {
  Transformer m = Transformer::random(cfg(), 3);
  ModelConfig other = cfg();
  other.intermediate_size = 40;
  LoraAdapter ad = LoraAdapter::create(other, LoraConfig{}, 5);
  EXPECT_THROW(m.attach_lora(&ad), Error);
  EXPECT_EQ(m.lora(), nullptr);
  ModelConfig deeper = cfg();
  deeper.num_hidden_layers = 3;
  LoraAdapter ad3 = LoraAdapter::create(deeper, LoraConfig{}, 5);
  EXPECT_THROW(m.attach_lora(&ad3), Error);
}

TEST_P(TransformerLora, ResizeVocabAddsMeanRowsAndKeepsTheOldLogits) {
  Transformer m = Transformer::random(cfg(), 3);
  const int64_t V = cfg().vocab_size, C = cfg().hidden_size, NV = V + 5;
  LoraAdapter ad = LoraAdapter::create(cfg(), LoraConfig{}, 5);
  for (size_t i = 0; i < ad.pairs.size(); ++i) fill_random(ad.pairs[i].b, 60 + uint32_t(i), 0.05f);
  m.attach_lora(&ad);
  Tensor ids = ids_of(2, 7, V, 1);
  std::vector<float> before = logits_of(m, ids);
  std::vector<std::string> names{"model.embed_tokens.weight"};
  if (!cfg().tie_word_embeddings) names.push_back("lm_head.weight");
  std::vector<std::vector<float>> old;
  for (const auto& n : names) old.push_back(values(m.param(n)));

  EXPECT_THROW(m.resize_vocab(V - 1), Error);
  m.resize_vocab(NV);
  EXPECT_EQ(m.config().vocab_size, NV);
  EXPECT_EQ(m.lora(), &ad);  // the attachment survives the rewiring
  for (size_t k = 0; k < names.size(); ++k) {
    const ag::Var& w = m.param(names[k]);
    ASSERT_EQ(w.shape(), (Shape{NV, C})) << names[k];
    std::vector<float> now = values(w);
    for (int64_t i = 0; i < V * C; ++i) ASSERT_EQ(now[size_t(i)], old[k][size_t(i)]);
    for (int64_t c = 0; c < C; ++c) {
      double mean = 0;
      for (int64_t r = 0; r < V; ++r) mean += old[k][size_t(r * C + c)];
      mean /= double(V);
      for (int64_t r = V; r < NV; ++r) EXPECT_NEAR(now[size_t(r * C + c)], mean, 1e-6) << names[k];
    }
  }
  for (const auto& p : m.params())
    EXPECT_EQ(p.var.numel(), p.spec.numel()) << p.spec.name;
  // The old vocabulary's logits are unchanged; the new ids work forward and backward.
  std::vector<float> after = logits_of(m, ids);
  ASSERT_EQ(after.size(), before.size() / size_t(V) * size_t(NV));
  for (size_t row = 0; row < before.size() / size_t(V); ++row)
    for (int64_t v = 0; v < V; ++v) ASSERT_EQ(after[row * size_t(NV) + size_t(v)], before[row * size_t(V) + size_t(v)]);
  Tensor new_ids = Tensor::from_ids({1, 3}, std::vector<int32_t>{int32_t(NV - 1), 0, int32_t(V)});
  ag::backward(ag::cross_entropy(m.logits(new_ids), new_ids));
  EXPECT_TRUE(m.param("model.embed_tokens.weight").has_grad());
  m.resize_vocab(NV);  // same size: nothing to do
  EXPECT_EQ(m.config().vocab_size, NV);
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, TransformerLora, ::testing::Values(true, false));

TEST(LoraGroups, OneGroupOfEveryAThenB) {
  LoraConfig lc;
  lc.targets = parse_lora_targets("q,down");
  LoraAdapter ad = LoraAdapter::create(qwen_like(), lc, 1);
  for (bool decay : {true, false}) {
    auto g = train::lora_groups(ad, decay);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].weight_decay, decay);
    ASSERT_EQ(g[0].params.size(), 2 * ad.pairs.size());
    for (size_t i = 0; i < ad.pairs.size(); ++i) {
      EXPECT_EQ(g[0].params[2 * i].node(), ad.pairs[i].a.node());
      EXPECT_EQ(g[0].params[2 * i + 1].node(), ad.pairs[i].b.node());
    }
  }
}

// The same weights with every matrix frozen as an F32 WeightMatrix (the bytes kept by the model).
Transformer frozen_copy(const Transformer& m) {
  auto storage = std::make_shared<std::vector<std::vector<float>>>();
  std::vector<Transformer::FrozenParam> frozen;
  for (const auto& p : m.params()) {
    if (p.spec.shape.size() != 2) continue;
    const float* v = p.var.value().data<float>();
    storage->emplace_back(v, v + p.var.numel());
    frozen.push_back({p.spec, WeightMatrix{DType::F32, storage->back().data(), p.spec.shape[0], p.spec.shape[1]}});
  }
  Transformer f(m.config(), frozen, storage);
  for (const auto& p : f.params()) {
    const ag::Var& src = m.param(p.spec.name);
    std::copy(src.value().data<float>(), src.value().data<float>() + src.numel(), p.var.value().data<float>());
  }
  return f;
}

float max_rel_diff(const Tensor& a, const Tensor& b) {
  float m = 0.f, s = 1e-6f;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    s = std::max(s, std::fabs(b.data<float>()[i]));
  }
  return m / s;
}

// token_logprobs: values and the gradients of every trainable Var in `vars` of probe(token_logprobs), fused vs explicit.
void expect_same(const Transformer& m, const std::vector<ag::Var>& vars, const Tensor* positions,
                 const Tensor* segments) {
  const Tensor ids = ids_of(2, 12, 64, 3u);
  Tensor tg = ids_of(2, 12, 64, 4u);
  for (int i : {0, 1, 2, 13, 23}) tg.data<int32_t>()[i] = -100;
  std::vector<Tensor> grads[2];
  Tensor values[2];
  for (int fused = 0; fused < 2; ++fused) {
    for (const ag::Var& v : vars) v.node()->grad_valid = false;
    ag::Var lp = fused ? m.token_logprobs(ids, tg, positions, segments)
                       : ag::token_logprobs(m.logits(ids, positions, segments), tg);
    ASSERT_EQ(lp.numel(), 24);
    values[fused] = lp.value().clone();
    ag::backward(ag::testing::probe(ag::reshape(lp, {24}), 9u));
    for (const ag::Var& v : vars) grads[fused].push_back(v.grad().clone());
    ag::reset_step();
  }
  EXPECT_LT(max_rel_diff(values[1], values[0]), 1e-5f);
  for (int i : {0, 1, 2, 13, 23}) EXPECT_EQ(values[1].data<float>()[i], 0.f);
  for (size_t i = 0; i < vars.size(); ++i) EXPECT_LT(max_rel_diff(grads[1][i], grads[0][i]), 1e-4f) << vars[i].name();
}

TEST(TransformerTokenLogprobs, TiedAndUntiedHeads) {
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const Transformer m = Transformer::random(tied ? qwen_like() : llama_like(), 1);
    expect_same(m, m.param_vars(), nullptr, nullptr);
  }
}

TEST(TransformerTokenLogprobs, PackedRows) {
  const Transformer m = Transformer::random(llama_like(), 2);
  const Tensor pos = Tensor::from_ids({2, 12}, std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6,  //
                                                                    0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
  const Tensor seg = Tensor::from_ids({2, 12}, std::vector<int32_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,  //
                                                                    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  expect_same(m, m.param_vars(), &pos, &seg);
}

TEST(TransformerTokenLogprobs, FrozenBaseWithLora) {
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const Transformer m = Transformer::random(tied ? qwen_like() : llama_like(), 3);
    Transformer f = frozen_copy(m);
    LoraConfig lc;
    lc.r = 4;
    const LoraAdapter ad = LoraAdapter::create(f.config(), lc, 5);
    for (const auto& p : ad.pairs)  // B non-zero so that the branch matters
      for (int64_t i = 0; i < p.b.numel(); ++i) p.b.value().data<float>()[i] = 0.05f * std::sin(0.7f * i);
    f.set_base_trainable(false);
    f.attach_lora(&ad);
    std::vector<ag::Var> vars;
    for (const auto& p : ad.pairs) {
      vars.push_back(p.a);
      vars.push_back(p.b);
    }
    expect_same(f, vars, nullptr, nullptr);
  }
}

}  // namespace transformer_lora_test
