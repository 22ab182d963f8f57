// libFuzzer target: arbitrary bytes as a Hugging Face tokenizer.json. Loading must either succeed or
// throw baimo::Error; on success a short text encodes, decodes back, and the tokenizer saves to JSON
// that loads again into a tokenizer giving the same ids.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    baimo::Tokenizer tok = baimo::Tokenizer::from_tokenizer_json(in, "fuzz.json");
    const std::string text = "Hello world, 你好 42!\n";
    std::vector<uint32_t> ids = tok.encode(text);
    for (uint32_t id : ids)
      if (id >= tok.vocab_size()) std::abort();
    std::string back = tok.decode(ids);
    // Round trip holds when nothing stands in for text: no non-special added tokens (always matched)
    // and every byte is a normal token (not an added-token fallback).
    bool plain = tok.normalizer() == baimo::Normalizer::None;
    for (const baimo::AddedToken& a : tok.added_tokens()) plain = plain && a.special;
    for (int b = 0; b < 256 && plain; ++b) {
      auto id = tok.token_to_id(std::string(1, static_cast<char>(b)));
      plain = id && !tok.is_added(*id);
    }
    if (plain && back != text) std::abort();
    baimo::Tokenizer again = baimo::Tokenizer::from_tokenizer_json(tok.to_tokenizer_json(), "fuzz-saved.json");
    if (again.encode(text) != ids) std::abort();
  } catch (const baimo::Error&) {
  }
  return 0;
}
