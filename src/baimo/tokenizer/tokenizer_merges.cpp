#include "baimo/tokenizer/tokenizer_merges.h"

#include "baimo/tokenizer/tokenizer_impl.h"

namespace baimo {

// Tokenizer's friend: read access to the implementation for the writers of this module.
struct TokenizerBuilder {
  static const Tokenizer::Impl& impl(const Tokenizer& t) { return *t.impl_; }
};

std::vector<std::string> tokenizer_merges_text(const Tokenizer& tok) {
  const Tokenizer::Impl& m = TokenizerBuilder::impl(tok);
  std::vector<std::string> out;
  for (auto [l, r] : m.derive_merges())
    out.push_back(byte_level::bytes_to_unicode(m.tokens[l]) + " " + byte_level::bytes_to_unicode(m.tokens[r]));
  return out;
}

}  // namespace baimo
