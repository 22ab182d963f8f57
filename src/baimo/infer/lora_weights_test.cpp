// `--lora` at load (infer/lora_weights.h, load_inference_model): the engine on base + adapter gives
// the logits and greedy tokens of the merged model, from a model directory and from a GGUF, exactly
// for F32 and within quantization error for Q8_0; a base that does not fit is refused up front.
// Trainable token rows replace the embedding rows (and a tied head's) at load exactly as the merge does.
#include "baimo/infer/lora_weights.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/lora_merge_model.h"
#include "baimo/convert/lora_test_util.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/infer/engine.h"
#include "baimo/infer/inference_model.h"
#include "baimo/kernels/backend.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace lora_weights_test {
using namespace baimo;

std::vector<float> logits_of(std::shared_ptr<const ModelWeights> w, const std::vector<int32_t>& ids) {
  Engine e(std::move(w), 1, 64);
  std::vector<float> logits;
  Engine::Chunk c{0, ids, true};
  e.forward({&c, 1}, logits);
  return logits;
}

// Greedy continuation of `ids` by argmax over the full-context logits.
std::vector<int32_t> greedy(std::shared_ptr<const ModelWeights> w, std::vector<int32_t> ids, int n) {
  const int64_t V = w->config.vocab_size;
  std::vector<int32_t> out;
  for (int s = 0; s < n; ++s) {
    const std::vector<float> l = logits_of(w, ids);
    const float* last = l.data() + l.size() - static_cast<size_t>(V);
    const auto best = static_cast<int32_t>(std::max_element(last, last + V) - last);
    out.push_back(best);
    ids.push_back(best);
  }
  return out;
}

struct LoraModels {
  TempDir t{"baimo_lora_infer_"};
  std::string base, adapter, merged, tok;
  ModelConfig cfg;
  explicit LoraModels(const char* arch, std::vector<int32_t> tokens = {}, bool tied = true)
      : base((t.dir / "base").string()), adapter((t.dir / "adapter").string()), merged((t.dir / "merged").string()),
        tok((t.dir / "tokenizer.json").string()), cfg(lora_test::tiny_config(arch)) {
    cfg.tie_word_embeddings = tied;
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
    Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {}, {{256, "<|im_start|>", true}, {257, "<|im_end|>", true}})
        .save_tokenizer_json(tok);
    ModelDirSave s;
    s.tokenizer_json = tok;
    Transformer::random(cfg, 9).save(base, s);
    save_peft_adapter(adapter, lora_test::random_adapter(cfg, 4, 16.0f, false, 3, tokens), base);
    merge_lora_model(base, adapter, merged);
  }
};

const std::vector<int32_t> kIds = {5, 17, 200, 42, 0, 7, 99};

TEST(LoraAtLoad, ModelDirectoryMatchesTheMergedModel) {
  LoraModels s("qwen2");
  const InferenceModel with = load_inference_model(s.base, "", "", s.adapter);
  const InferenceModel merged = load_inference_model(s.merged);
  const InferenceModel plain = load_inference_model(s.base);
  EXPECT_EQ(logits_of(with.weights, kIds), logits_of(merged.weights, kIds));
  EXPECT_NE(logits_of(with.weights, kIds), logits_of(plain.weights, kIds));  // the adapter does something
  EXPECT_EQ(greedy(with.weights, kIds, 8), greedy(merged.weights, kIds, 8));
}

// Trainable token rows (the template markers 256, 257 and a plain byte): at load time they replace
// the embedding rows (and the tied head's) exactly as the merge does; with an untied head only the
// embedding (PEFT's behaviour), which the merge and the load agree on too.
TEST(LoraAtLoad, TokenRowsMatchTheMergedModel) {
  for (const char* arch : {"qwen2", "llama"}) {
    LoraModels s(arch, {257, 256, 42}, std::string(arch) == "qwen2");
    const InferenceModel with = load_inference_model(s.base, "", "", s.adapter);
    const InferenceModel merged = load_inference_model(s.merged);
    const std::vector<int32_t> ids = {256, 5, 42, 257, 7};
    EXPECT_EQ(logits_of(with.weights, ids), logits_of(merged.weights, ids)) << arch;
    EXPECT_EQ(greedy(with.weights, ids, 6), greedy(merged.weights, ids, 6)) << arch;
    // The rows are the adapter's, not the base's.
    const LoraAdapter ad = load_peft_adapter(s.adapter, s.cfg);
    std::vector<float> row(static_cast<size_t>(s.cfg.hidden_size));
    const int32_t id = 257;
    backend().weight_rows(with.weights->embed, &id, 1, row.data());
    EXPECT_EQ(row, std::vector<float>(ad.token_rows.value().data<float>(),
                                      ad.token_rows.value().data<float>() + s.cfg.hidden_size));
  }
}

TEST(LoraAtLoad, GgufBaseMatchesTheMergedModel) {
  for (const char* arch : {"llama", "qwen2"}) {
    LoraModels s(arch);
    const std::string gguf = (s.t.dir / "base.gguf").string();
    export_gguf(s.base, gguf, {DType::F32, "", false});
    const InferenceModel with = load_inference_model(gguf, "", "", s.adapter);
    const InferenceModel merged = load_inference_model(s.merged);
    EXPECT_EQ(logits_of(with.weights, kIds), logits_of(merged.weights, kIds)) << arch;
    EXPECT_EQ(greedy(with.weights, kIds, 8), greedy(merged.weights, kIds, 8)) << arch;
  }
}

TEST(LoraAtLoad, QuantizedBaseIsRequantizedCloseToTheMergedModel) {
  LoraModels s("qwen2");
  const std::string gguf = (s.t.dir / "base.gguf").string();
  export_gguf(s.base, gguf, {DType::Q8_0, "", false});
  const ModelWeights base = load_inference_weights(gguf);
  const auto with = std::make_shared<const ModelWeights>(apply_lora(base, load_peft_adapter(s.adapter, s.cfg), s.adapter));
  EXPECT_EQ(with->layers[0].q.type, DType::Q8_0);
  EXPECT_NE(with->layers[0].q.data, base.layers[0].q.data);  // a new buffer: the mapping is never written
  EXPECT_EQ(with->layers[0].attn_norm, base.layers[0].attn_norm);
  const auto merged = std::make_shared<const ModelWeights>(load_inference_weights(s.merged));
  const std::vector<float> a = logits_of(with, kIds), b = logits_of(merged, kIds);
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  EXPECT_LT(std::sqrt(num / den), 0.02);
}

TEST(LoraAtLoad, F32BaseBuffersAreNotWritten) {
  LoraModels s("qwen2");
  const auto base = std::make_shared<const ModelWeights>(load_inference_weights(s.base));
  const std::vector<float> before = logits_of(base, kIds);
  const ModelWeights with = apply_lora(*base, load_peft_adapter(s.adapter, s.cfg), s.adapter);
  EXPECT_NE(with.layers[1].down.data, base->layers[1].down.data);
  EXPECT_EQ(logits_of(base, kIds), before);
}

TEST(LoraAtLoad, MismatchedBaseFailsBeforeRunning) {
  LoraModels s("qwen2");
  ModelConfig wide = lora_test::tiny_config();
  wide.hidden_size = 48;
  wide.head_dim = 12;
  const std::string wide_dir = (s.t.dir / "wide").string();
  ModelDirSave sv;
  sv.tokenizer_json = s.tok;
  Transformer::random(wide, 1).save(wide_dir, sv);
  try {
    load_inference_model(wide_dir, "", "", s.adapter);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adapter_model.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace lora_weights_test
