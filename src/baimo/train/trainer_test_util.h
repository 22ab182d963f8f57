// Test helpers for the trainer tests: a micro model config and a small learnable token dataset.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "baimo/data/token_shards.h"
#include "baimo/model/config.h"

namespace baimo::test {

inline ModelConfig micro_config(int64_t vocab) {
  return parse_model_config_text(R"({"model_type": "llama", "vocab_size": )" + std::to_string(vocab) +
                                     R"(, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
      "rms_norm_eps": 1e-5, "tie_word_embeddings": true})",
                                 "micro");
}

// Shards (train + val, vocab 16) of documents with a learnable pattern: 1 2 3 ... 12, repeated.
inline std::string make_dataset(const std::string& name) {
  auto dir = (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  ShardIndex ix;
  ix.vocab_size = 16;
  ix.eot_id = 0;
  for (const char* split : {"train", "val"}) {
    ShardWriter w(dir, split, ix, 1000);
    for (int d = 0; d < 20; ++d) {
      std::vector<int32_t> doc;
      for (int r = 0; r < 3; ++r)
        for (int i = 1; i <= 12; ++i) doc.push_back(i);
      w.add_document(doc);
    }
    w.finish();
  }
  ix.save(dir);
  return dir;
}

}  // namespace baimo::test
