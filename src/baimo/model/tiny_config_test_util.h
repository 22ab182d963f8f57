// Tiny model configs for unit tests (test-only header): the two shapes the model tests share.
//   tiny_qwen2: GQA (4 heads, 2 KV heads of 8 dims), q/k/v bias, tied embeddings; vocab 64, hidden 32, MLP 48.
//   tiny_llama: the same sizes as Llama: untied lm_head, no bias.
#pragma once
#include <cstdint>

#include "baimo/model/config.h"

namespace baimo::testing {

inline ModelConfig tiny_qwen2(int64_t layers = 2, int64_t max_positions = 64) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = max_positions;
  c.tie_word_embeddings = true;
  c.qkv_bias = true;
  return c;
}

inline ModelConfig tiny_llama(int64_t layers = 2, int64_t max_positions = 64) {
  ModelConfig c = tiny_qwen2(layers, max_positions);
  c.model_type = "llama";
  c.tie_word_embeddings = false;
  c.qkv_bias = false;
  return c;
}

}  // namespace baimo::testing
