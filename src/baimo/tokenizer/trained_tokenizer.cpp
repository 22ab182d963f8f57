#include "baimo/tokenizer/trained_tokenizer.h"

#include "baimo/util/error.h"

namespace baimo {

Tokenizer to_tokenizer(const BpeTrainResult& r) {
  std::optional<PreTokenizerKind> kind = kind_from_name(r.preset);
  if (!kind) fail("tokenizer train: unknown preset \"{}\"", r.preset);
  std::vector<AddedToken> added;
  uint32_t next = static_cast<uint32_t>(r.bpe.token_bytes.size());
  std::optional<uint32_t> eos;
  for (const std::string& s : r.special_tokens) {
    if (s == "<|endoftext|>") eos = next;
    added.push_back({next++, s, true});
  }
  Tokenizer tok = Tokenizer::from_bpe(*kind, r.bpe.token_bytes, r.bpe.merges, std::move(added),
                                      Normalizer::None, false, "trained tokenizer");
  if (eos) tok.set_eos_id(eos);
  return tok;
}

void save_trained_tokenizer(const BpeTrainResult& r, const std::string& path) {
  to_tokenizer(r).save_tokenizer_json(path);
}

}  // namespace baimo
