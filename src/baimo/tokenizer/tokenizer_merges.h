// tokenizer_merges_text: a tokenizer's BPE merges in rank order, spelled as tokenizer.json's
// model.merges and GGUF's tokenizer.ggml.merges spell them: "a b", each side in GPT-2
// byte-to-unicode form. Merges derived from token ranks for tiktoken tokenizers. The one source of
// that list for every writer (tokenizer.json, GGUF), so no writer re-parses another's output.
#pragma once
#include <string>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

std::vector<std::string> tokenizer_merges_text(const Tokenizer& tok);

}  // namespace baimo
