// libFuzzer target: arbitrary bytes as a tiktoken rank file ("<base64 token> <rank>" lines). Loading
// must either succeed or throw baimo::Error; on success encode/decode round-trips a short text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte picks the pattern, the rest is the file.
  const baimo::PreTokenizerKind kinds[] = {baimo::PreTokenizerKind::Cl100k, baimo::PreTokenizerKind::O200k,
                                           baimo::PreTokenizerKind::Gpt2};
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    baimo::Tokenizer tok = baimo::Tokenizer::from_tiktoken(in, kinds[data[0] % 3], "fuzz.tiktoken");
    const std::string text = "Hello world, 你好 42!\n\xff";
    std::vector<uint32_t> ids = tok.encode(text);
    if (tok.decode(ids) != text) std::abort();
  } catch (const baimo::Error&) {
  }
  return 0;
}
