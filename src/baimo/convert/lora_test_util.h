// Test fixtures for the LoRA adapter tests: a tiny model config (qwen2 or llama) and an adapter with
// random non-zero A and B (LoraAdapter::create leaves B = 0, which would hide every bug), and, when
// `tokens` lists ids, random trainable token rows for them.
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "baimo/model/config.h"
#include "baimo/model/lora.h"

namespace baimo::lora_test {

inline ModelConfig tiny_config(const char* model_type = "qwen2") {
  ModelConfig c;
  c.model_type = model_type;
  c.vocab_size = 264;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.qkv_bias = std::string(model_type) == "qwen2";
  c.tie_word_embeddings = true;
  c.validate("test");
  return c;
}

inline LoraAdapter random_adapter(const ModelConfig& c, int64_t r = 4, float alpha = 8.0f, bool rslora = false,
                                  uint64_t seed = 3, std::vector<int32_t> tokens = {}) {
  LoraConfig lc;
  lc.trainable_tokens = std::move(tokens);
  lc.r = r;
  lc.alpha = alpha;
  lc.rslora = rslora;
  LoraAdapter ad = LoraAdapter::create(c, lc, seed);
  uint64_t k = seed;
  for (LoraAdapter::Pair& p : ad.pairs) {
    float* b = p.b.value().data<float>();
    for (int64_t i = 0; i < p.b.numel(); ++i) b[i] = 0.2f * std::sin(0.37f * static_cast<float>(++k));
  }
  if (ad.token_rows.defined()) {
    float* t = ad.token_rows.value().data<float>();
    for (int64_t i = 0; i < ad.token_rows.numel(); ++i) t[i] = 0.5f * std::cos(0.23f * static_cast<float>(++k));
  }
  return ad;
}

}  // namespace baimo::lora_test
