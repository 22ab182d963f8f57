// From a BPE training result (bpe_trainer.h) to a Tokenizer (tokenizer.h) and a tokenizer.json.
// Contract: the Tokenizer has the trained byte tokens and merges (merge k has rank k), the
// preset's pre-tokenizer, no normalizer, and the special tokens as added tokens (special = true)
// with ids after the merges; <|endoftext|> (when present) is its eos id. Saving is atomic and
// deterministic: the same result always gives the same bytes.
#pragma once
#include <string>

#include "baimo/tokenizer/bpe_trainer.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

Tokenizer to_tokenizer(const BpeTrainResult& r);
void save_trained_tokenizer(const BpeTrainResult& r, const std::string& path);

}  // namespace baimo
