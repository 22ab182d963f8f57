// tokenizer_json_vocab_size: the number of token ids a Hugging Face tokenizer.json can produce, read
// with plain JSON (no tokenizer logic): max id over model.vocab (an object token -> id for
// BPE / WordPiece / WordLevel, a list of [piece, score] for Unigram) and added_tokens[].id, plus 1.
// A model initialised for the tokenizer needs vocab_size at least this large.
// Errors (baimo::Error naming the file and field): not JSON, no model.vocab, non-integer or negative ids.
#pragma once
#include <cstdint>
#include <string>

namespace baimo {

int64_t tokenizer_json_vocab_size(const std::string& path);
int64_t tokenizer_json_vocab_size_text(const std::string& text, const std::string& where);

}  // namespace baimo
