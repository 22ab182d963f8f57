// load_training_base: a Frozen base from a baimo-written GGUF (llama: q/k rows permuted in the file;
// qwen2: tied embeddings) gives the logits and the gradients (through every frozen product) of the
// f32 Transformer on the dequantized weights (to 1e-5 for F16, whose forward is f32; within the int8
// activation rounding for Q8_0 / Q4_0); no f32 buffer of a frozen matrix exists (memory
// accounting of params()); K-quants are requantized to Q8_0; a model directory converts at load.
#include "baimo/convert/training_base.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace training_base_test {
using namespace baimo;

ModelConfig tiny(const std::string& type, int64_t width = 64) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 300;
  c.hidden_size = width;
  c.intermediate_size = width == 64 ? 96 : width;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = width / 4;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.initializer_range = 0.2;  // large enough that the logits are far from uniform
  if (type == "qwen2") {
    c.qkv_bias = true;
    c.tie_word_embeddings = true;
  } else {
    c.qkv_bias = c.o_bias = true;  // llama attention_bias: q/k biases are permuted in the GGUF too
  }
  return c;
}

// A GGUF of a random model of this config in `type`, under t.
std::string write_gguf(const TempDir& t, const ModelConfig& c, DType type, const std::string& name) {
  const std::string dir = (t.dir / name).string();
  Transformer::random(c, 42).save(dir);
  GgufExportOptions o;
  o.type = type;
  o.progress = false;
  const std::string out = (t.dir / (name + ".gguf")).string();
  export_gguf(dir, out, o);
  return out;
}

// Max |difference| / max |reference| of logits and of the first norm's gradient, for a random
// 2-layer model with sharp attention (initializer_range 0.2): int8 activation rounding is amplified
// to a few percent; a wrong q/k row order or embedding tie is off by order one (and the F16 tests
// below check the same wiring to 1e-5).
constexpr float kInt8ForwardTol = 0.15f;

float max_rel_diff(const Tensor& a, const Tensor& b) {
  float m = 0.f, scale = 1e-6f;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    scale = std::max(scale, std::fabs(b.data<float>()[i]));
  }
  return m / scale;
}

Tensor ids_for(const ModelConfig& c) { return ag::testing::random_ids({2, 9}, static_cast<int32_t>(c.vocab_size), 5u); }

// Norm weights require grad in both models (a stand-in for adapters: the loss's gradient reaches the
// first layer's norm only through every frozen product's dx). Returns logits and that gradient.
std::pair<Tensor, Tensor> logits_and_grad(const Transformer& m, const Tensor& ids) {
  for (const auto& p : m.params())
    if (p.spec.kind == ParamKind::Norm) p.var.node()->requires_grad = true;
  ag::Var logits = m.logits(ids);
  ag::backward(ag::testing::probe(logits, 9u));
  Tensor l = logits.value().clone();
  Tensor g = m.param("model.layers.0.input_layernorm.weight").grad().clone();
  ag::reset_step();
  return {l, g};
}

void expect_frozen_layout(const Transformer& m, DType type) {
  int64_t f32_numel = 0, want_f32 = 0;
  size_t matrices = 0;
  for (const ParamSpec& s : param_layout(m.config())) {
    if (s.shape.size() == 2)
      ++matrices;
    else
      want_f32 += s.numel();
  }
  for (const auto& p : m.params()) {
    f32_numel += p.var.numel();
    EXPECT_FALSE(p.var.requires_grad()) << p.spec.name;
  }
  EXPECT_EQ(f32_numel, want_f32);  // no f32 copy of any matrix
  ASSERT_EQ(m.frozen_params().size(), matrices);
  for (const auto& f : m.frozen_params()) {
    EXPECT_EQ(f.w.type, type) << f.spec.name;
    if (type == DType::Q8_0 || type == DType::Q4_0) {  // held once: the packed copy alone
      EXPECT_EQ(f.w.data, nullptr) << f.spec.name;
      EXPECT_NE(f.w.packed, nullptr) << f.spec.name;
    }
  }
  EXPECT_THROW(m.param("model.layers.0.self_attn.q_proj.weight"), Error);
}

TEST(TrainingBase, FrozenQ8_0LlamaMatchesF32OnDequantizedWeights) {
  TempDir t("baimo_training_base_llama");
  const ModelConfig c = tiny("llama");
  const std::string gguf = write_gguf(t, c, DType::Q8_0, "llama");
  const Transformer frozen = load_training_base(gguf, BaseStorage::Frozen);
  const Transformer ref = load_training_base(gguf, BaseStorage::F32);
  expect_frozen_layout(frozen, DType::Q8_0);
  for (const auto& p : ref.params()) EXPECT_TRUE(p.var.requires_grad()) << p.spec.name;
  EXPECT_TRUE(ref.frozen_params().empty());
  const Tensor ids = ids_for(c);
  const auto [lf, gf] = logits_and_grad(frozen, ids);
  const auto [lr, gr] = logits_and_grad(ref, ids);
  // The frozen forward quantizes activations to int8 blocks (ops.h): within a few percent of f32;
  // a wrong q/k row order or a missing tie would be off by order one.
  EXPECT_LE(max_rel_diff(lf, lr), kInt8ForwardTol);
  EXPECT_LE(max_rel_diff(gf, gr), kInt8ForwardTol);
}

TEST(TrainingBase, FrozenF16MatchesF32Exactly) {
  for (const std::string arch : {"llama", "qwen2"}) {
    SCOPED_TRACE(arch);
    TempDir t("baimo_training_base_f16_" + arch);
    const ModelConfig c = tiny(arch);
    const std::string gguf = write_gguf(t, c, DType::F16, arch);
    const Transformer frozen = load_training_base(gguf, BaseStorage::Frozen);
    const Transformer ref = load_training_base(gguf, BaseStorage::F32);
    expect_frozen_layout(frozen, DType::F16);
    const Tensor ids = ids_for(c);
    const auto [lf, gf] = logits_and_grad(frozen, ids);
    const auto [lr, gr] = logits_and_grad(ref, ids);
    EXPECT_LE(max_rel_diff(lf, lr), 1e-5f);
    EXPECT_LE(max_rel_diff(gf, gr), 1e-4f);
  }
}

TEST(TrainingBase, FrozenQ4_0TiedQwen2MatchesF32AndADirectoryLoadedAsQ4_0) {
  TempDir t("baimo_training_base_qwen2");
  const ModelConfig c = tiny("qwen2");
  const std::string gguf = write_gguf(t, c, DType::Q4_0, "qwen2");
  const Transformer frozen = load_training_base(gguf, BaseStorage::Frozen);
  const Transformer ref = load_training_base(gguf, BaseStorage::F32);
  expect_frozen_layout(frozen, DType::Q4_0);
  const Tensor ids = ids_for(c);
  const auto [lf, gf] = logits_and_grad(frozen, ids);
  const auto [lr, gr] = logits_and_grad(ref, ids);
  // The frozen forward quantizes activations to int8 blocks (ops.h): within a few percent of f32;
  // a wrong q/k row order or a missing tie would be off by order one.
  EXPECT_LE(max_rel_diff(lf, lr), kInt8ForwardTol);
  EXPECT_LE(max_rel_diff(gf, gr), kInt8ForwardTol);
  // The same model directory converted to Q4_0 at load: the same bytes, so the same logits.
  const Transformer from_dir = load_training_base((t.dir / "qwen2").string(), BaseStorage::Frozen, DType::Q4_0);
  expect_frozen_layout(from_dir, DType::Q4_0);
  EXPECT_LE(max_rel_diff(logits_and_grad(from_dir, ids).first, lf), 1e-6f);
  // save() writes the frozen matrices dequantized: reloaded as f32, the same logits.
  from_dir.save((t.dir / "saved").string());
  const Transformer reloaded = load_training_base((t.dir / "saved").string(), BaseStorage::F32);
  EXPECT_LE(max_rel_diff(logits_and_grad(reloaded, ids).first, lf), kInt8ForwardTol);
}

TEST(TrainingBase, KQuantsAreRequantizedToQ8_0) {
  TempDir t("baimo_training_base_kq");
  const ModelConfig c = tiny("llama", 256);  // K-quant rows need a multiple of 256 columns
  const std::string gguf = write_gguf(t, c, DType::Q6_K, "kq");
  const Transformer frozen = load_training_base(gguf, BaseStorage::Frozen);
  expect_frozen_layout(frozen, DType::Q8_0);
  // The same requantization by another route: the exact f32 dequantization of the Q6_K file, saved
  // and loaded as a directory converted to Q8_0, gives the same Q8_0 bytes, so the same logits.
  load_training_base(gguf, BaseStorage::F32).save((t.dir / "f32").string());
  const Transformer via_dir = load_training_base((t.dir / "f32").string(), BaseStorage::Frozen, DType::Q8_0);
  const Tensor ids = ids_for(c);
  EXPECT_LE(max_rel_diff(logits_and_grad(frozen, ids).first, logits_and_grad(via_dir, ids).first), 1e-6f);
}

TEST(TrainingBase, BadRequestsAreClearErrors) {
  TempDir t("baimo_training_base_err");
  const ModelConfig c = tiny("qwen2");
  const std::string gguf = write_gguf(t, c, DType::Q8_0, "m");
  EXPECT_THROW(load_training_base(gguf, BaseStorage::Frozen, DType::Q4_0), Error);
  EXPECT_THROW(load_training_base((t.dir / "m").string(), BaseStorage::Frozen, DType::I32), Error);
  EXPECT_THROW(load_training_base((t.dir / "nothing").string(), BaseStorage::Frozen), Error);
  std::vector<Transformer::FrozenParam> wrong = {{ParamSpec{"model.norm.weight", {64}, ParamKind::Norm}, {}}};
  EXPECT_THROW(Transformer(c, wrong, nullptr), Error);
}

}  // namespace training_base_test
