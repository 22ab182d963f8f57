// Test fixture for unit tests that need a real Tokenizer over a tiny vocabulary: byte-level BPE with
// no merges, id b = byte b (0..255), and 256 = <|endoftext|>, the EOS.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo::test_tokenizers {

inline std::shared_ptr<Tokenizer> byte_tokenizer() {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
  auto tok = std::make_shared<Tokenizer>(
      Tokenizer::from_bpe(PreTokenizerKind::Gpt2, bytes, {}, {AddedToken{256, "<|endoftext|>", true}}));
  tok->set_eos_id(256);
  return tok;
}

}  // namespace baimo::test_tokenizers
