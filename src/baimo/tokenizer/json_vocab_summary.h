// tokenizer_json_vocab_size: the number of token ids a Hugging Face tokenizer.json can produce, read
// with plain JSON (no tokenizer logic): max id over model.vocab (an object token -> id for
// BPE / WordPiece / WordLevel, a list of [piece, score] for Unigram) and added_tokens[].id, plus 1.
// A model initialised for the tokenizer needs vocab_size at least this large.
// tokenizer_json_specials also finds the conventional begin / end-of-text tokens among added_tokens
// (bos: <s>, <|begin_of_text|>, <bos>; eos, all that exist, in this order: <|endoftext|>, </s>,
// <|end_of_text|>, <eos>, <|im_end|>, <|eot_id|>) so a fresh model's config can name them.
// Errors (baimo::Error naming the file and field): not JSON, no model.vocab, non-integer or negative ids.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace baimo {

struct TokenizerJsonSummary {
  int64_t vocab_size = 0;
  std::optional<int64_t> bos_id;
  std::vector<int64_t> eos_ids;
};

TokenizerJsonSummary tokenizer_json_summary(const std::string& path);
TokenizerJsonSummary tokenizer_json_summary_text(const std::string& text, const std::string& where);

int64_t tokenizer_json_vocab_size(const std::string& path);
int64_t tokenizer_json_vocab_size_text(const std::string& text, const std::string& where);

}  // namespace baimo
