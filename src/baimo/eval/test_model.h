// Test fixtures for eval's unit tests: a byte-level tokenizer (256 byte tokens + <|endoftext|> 256,
// the EOS) and a random tiny model over it (vocab 257, 2 layers, context `max_positions`).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "baimo/infer/model_weights.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/test_byte_tokenizer.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::eval::test_fixtures {

using baimo::test_tokenizers::byte_tokenizer;

inline std::shared_ptr<const ModelWeights> byte_model(int64_t max_positions = 256, uint64_t seed = 11) {
  ModelConfig c;
  c.vocab_size = 257;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = max_positions;
  c.initializer_range = 0.2;
  c.eos_token_ids = {256};
  c.validate("test");
  return std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, seed)));
}

}  // namespace baimo::eval::test_fixtures
