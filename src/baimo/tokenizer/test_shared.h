// Test helper: where the shared reference files live ($BAIMO_SHARED, else ../shared beside the repo),
// and the reference tokenizers there.
#pragma once
#include <cstdlib>
#include <string>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo::test_data {
inline std::string shared_dir() {
  if (const char* s = std::getenv("BAIMO_SHARED"); s && *s) return s;
  return std::string(BAIMO_SOURCE_DIR) + "/../shared";
}
inline std::string vectors_dir() { return shared_dir() + "/vectors"; }
// The reference tokenizers of vectors_dir(), loaded once.
inline const Tokenizer& qwen25_tokenizer() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json_file(vectors_dir() + "/qwen2_5/tokenizer.json");
  return t;
}
inline const Tokenizer& llama3_tokenizer() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json_file(vectors_dir() + "/llama3/tokenizer.json");
  return t;
}
}  // namespace baimo::testing
