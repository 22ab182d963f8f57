// Calibration token sequences for data-aware compression (Wanda): the documents of the inputs, read
// with the one corpus reader exactly as `baimo data prepare` reads them (data/document_reader.h:
// files or directories; .txt/.md blocks, .jsonl / .json records with the first of `fields`),
// tokenized with the model's tokenizer (special-token text as plain text), joined in file order with
// the tokenizer's EOS between documents (when it has one), and cut into consecutive sequences of
// `seq_len` tokens; the first `count` sequences are returned (reading stops once they are full).
// Contract: count >= 1, seq_len >= 2; fewer tokens than `count` sequences gives as many whole
// sequences as there are (a note is the caller's business); not even one is a baimo::Error naming
// the inputs and the token count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

std::vector<std::vector<int32_t>> calibration_sequences(const std::vector<std::string>& inputs,
                                                        const std::vector<std::string>& fields, const Tokenizer& tok,
                                                        int64_t count, int64_t seq_len);

}  // namespace baimo
