// Test fixture: a tiny reward model directory (model/reward_model.h make_reward_model over a random
// 2-layer model) with a byte-level ChatML tokenizer (256 byte tokens, <|im_start|> 256, <|im_end|>
// 257), loadable by eval/reward_scores.h load_reward_scorer.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "baimo/model/model_dir.h"
#include "baimo/model/reward_model.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::eval::test_fixtures {

inline void write_tiny_reward_model(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string tok = (std::filesystem::path(dir) / "src_tokenizer.json").string();
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {}, {{256, "<|im_start|>", true}, {257, "<|im_end|>", true}})
      .save_tokenizer_json(tok);
  ModelConfig c;
  c.vocab_size = 258;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 512;
  c.initializer_range = 0.2;
  c.eos_token_ids = {257};
  c.validate("test reward model");
  ModelDirSave s;
  s.tokenizer_json = tok;
  make_reward_model(Transformer::random(c, 3), 9).save(dir, s);
}

}  // namespace baimo::eval::test_fixtures
