// `baimo lora merge` and `baimo lora export` on tiny models: merged weights are exactly
// W + (alpha / r) B A in f32 (from a model directory and from a GGUF), the GGUF adapter has
// llama.cpp's names, ggml shapes, alpha and q/k row permutation, and a bad adapter writes nothing.
#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>

#include "baimo/convert/gguf_lora.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/lora_merge_model.h"
#include "baimo/convert/lora_test_util.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

using namespace baimo;
namespace fs = std::filesystem;

namespace lora_merge_model_test {

std::vector<float> param_values(const Transformer& m, const std::string& name) {
  const ag::Var& v = m.param(name);
  const float* p = v.value().data<float>();
  return {p, p + v.numel()};
}

// W + scaling * (B A), written out longhand in the order lora_merge.h promises.
// Equal up to the last bits of float rounding: the merge sums k in order in f32, but a compiler may
// contract a * b + c into one FMA on one side and not the other (the sanitizer build does).
::testing::AssertionResult merge_close(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (std::fabs(got[i] - want[i]) > 1e-6f * (1.0f + std::fabs(want[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << got[i] << " vs " << want[i];
  return ::testing::AssertionSuccess();
}

std::vector<float> expected_merge(std::vector<float> w, const LoraAdapter::Pair& p, int64_t r, float scaling) {
  const float* a = p.a.value().data<float>();
  const float* b = p.b.value().data<float>();
  for (int64_t o = 0; o < p.spec.out; ++o)
    for (int64_t i = 0; i < p.spec.in; ++i) {
      float d = 0.0f;
      for (int64_t k = 0; k < r; ++k) d += b[o * r + k] * a[k * p.spec.in + i];
      w[static_cast<size_t>(o * p.spec.in + i)] += scaling * d;
    }
  return w;
}

struct Models {
  TempDir t{"baimo_lora_merge_"};
  std::string base, adapter, tok;
  ModelConfig cfg;
  LoraAdapter ad;
  explicit Models(const char* arch, bool rslora = false)
      : base((t.dir / "base").string()), adapter((t.dir / "adapter").string()),
        tok((t.dir / "tokenizer.json").string()), cfg(lora_test::tiny_config(arch)),
        ad(lora_test::random_adapter(cfg, 4, 8.0f, rslora)) {
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
    Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {}, {{256, "<|im_start|>", true}, {257, "<|im_end|>", true}})
        .save_tokenizer_json(tok);
    ModelDirSave s;
    s.tokenizer_json = tok;
    Transformer::random(cfg, 5).save(base, s);
    save_peft_adapter(adapter, ad, base);
  }
};

TEST(LoraMerge, AddDeltaIsWPlusScaledBA) {
  const ModelConfig cfg = lora_test::tiny_config();
  const LoraAdapter ad = lora_test::random_adapter(cfg);
  const LoraAdapter::Pair& p = ad.pairs[4];  // gate: (64, 32)
  std::vector<float> w(static_cast<size_t>(p.spec.out * p.spec.in));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 17);
  std::vector<float> got = w;
  add_lora_delta(got.data(), p.spec.out, p.spec.in, p.a.value().data<float>(), p.b.value().data<float>(), 4, 2.0f);
  EXPECT_TRUE(merge_close(got, expected_merge(w, p, 4, 2.0f)));
  EXPECT_NE(got, w);
}

TEST(LoraMerge, ModelDirectoryMergeIsExact) {
  for (const char* arch : {"qwen2", "llama"}) {
    Models m(arch);
    const std::string out = (m.t.dir / "merged").string();
    merge_lora_model(m.base, m.adapter, out);
    const Transformer base = Transformer::load(m.base), merged = Transformer::load(out);
    const float scaling = 8.0f / 4.0f;
    for (const LoraAdapter::Pair& p : m.ad.pairs)
      EXPECT_TRUE(merge_close(param_values(merged, p.spec.base_name),
                              expected_merge(param_values(base, p.spec.base_name), p, 4, scaling)))
          << arch << " " << p.spec.base_name;
    EXPECT_EQ(param_values(merged, "model.embed_tokens.weight"), param_values(base, "model.embed_tokens.weight"));
    EXPECT_EQ(read_file(out + "/tokenizer.json"), read_file(m.tok));
  }
}

TEST(LoraMerge, GgufBaseMergesInF32AndRsloraScales) {
  Models m("llama", /*rslora=*/true);
  const std::string gguf = (m.t.dir / "base.gguf").string(), out = (m.t.dir / "merged").string();
  export_gguf(m.base, gguf, {DType::F32, "", false});
  merge_lora_model(gguf, m.adapter, out);
  const Transformer base = Transformer::load(m.base), merged = Transformer::load(out);
  const float scaling = 8.0f / std::sqrt(4.0f);
  for (const LoraAdapter::Pair& p : m.ad.pairs)
    EXPECT_TRUE(merge_close(param_values(merged, p.spec.base_name),
                            expected_merge(param_values(base, p.spec.base_name), p, 4, scaling)))
        << p.spec.base_name;
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
}

TEST(LoraMerge, BadAdapterWritesNothing) {
  Models m("qwen2");
  const std::string out = (m.t.dir / "merged").string();
  fs::remove(m.adapter + "/adapter_model.safetensors");
  EXPECT_THROW(merge_lora_model(m.base, m.adapter, out), Error);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THROW(export_gguf_lora(m.base, m.adapter, (m.t.dir / "a.gguf").string()), Error);
  EXPECT_FALSE(fs::exists(m.t.dir / "a.gguf"));
  EXPECT_TRUE(fs::is_empty(m.t.dir) == false);
  for (const auto& e : fs::directory_iterator(m.t.dir))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

TEST(GgufLora, LlamaCppLayoutNamesAlphaAndPermutation) {
  Models m("llama", /*rslora=*/true);
  const std::string out = (m.t.dir / "adapter.gguf").string();
  export_gguf_lora(m.base, m.adapter, out);
  const GgufReader g(out);
  EXPECT_EQ(g.get_string("general.type"), "adapter");
  EXPECT_EQ(g.get_string("adapter.type"), "lora");
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_FLOAT_EQ(static_cast<float>(*g.get_float("adapter.lora.alpha")), 8.0f * 2.0f);  // rslora: alpha sqrt(r)
  EXPECT_EQ(g.tensors().size(), m.ad.pairs.size() * 2);
  for (const LoraAdapter::Pair& p : m.ad.pairs) {
    const std::string name = gguf_tensor_name(p.spec.base_name);
    const GgufTensorInfo* a = g.find_tensor(name + ".lora_a");
    const GgufTensorInfo* b = g.find_tensor(name + ".lora_b");
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(a->ggml_type, 0u);
    // shape is outermost first: ggml ne = [in, r] and [r, out].
    EXPECT_EQ(a->shape, (std::vector<int64_t>{4, p.spec.in})) << name;
    EXPECT_EQ(b->shape, (std::vector<int64_t>{p.spec.out, 4})) << name;
    const auto* bf = reinterpret_cast<const float*>(b->data);
    const float* want = p.b.value().data<float>();
    int64_t heads = 0;
    const bool permuted = gguf_rows_permuted(m.cfg, p.spec.base_name, &heads);
    EXPECT_EQ(permuted, p.spec.role == ParamRole::Q || p.spec.role == ParamRole::K);
    for (int64_t row = 0; row < p.spec.out; ++row) {
      const int64_t hf = permuted ? hf_row_from_gguf(row, m.cfg.head_dim) : row;
      for (int64_t k = 0; k < 4; ++k) ASSERT_EQ(bf[row * 4 + k], want[hf * 4 + k]) << name << " row " << row;
    }
    EXPECT_EQ(0, std::memcmp(a->data, p.a.value().data<float>(), static_cast<size_t>(p.a.numel()) * 4)) << name;
  }
  // qwen2 keeps HF row order and alpha as is.
  Models q("qwen2");
  export_gguf_lora(q.base, q.adapter, out);
  const GgufReader gq(out);
  EXPECT_EQ(gq.get_string("general.architecture"), "qwen2");
  EXPECT_FLOAT_EQ(static_cast<float>(*gq.get_float("adapter.lora.alpha")), 8.0f);
  const GgufTensorInfo* qb = gq.find_tensor("blk.0.attn_q.weight.lora_b");
  ASSERT_TRUE(qb);
  EXPECT_EQ(0, std::memcmp(qb->data, q.ad.pairs[0].b.value().data<float>(), static_cast<size_t>(q.ad.pairs[0].b.numel()) * 4));
}

}  // namespace lora_merge_model_test
