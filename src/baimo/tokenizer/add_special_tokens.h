// Adding special tokens to a tokenizer.json, for a base model whose tokenizer lacks the chat
// template's markers (e.g. ChatML's <|im_start|>, <|im_end|>) before SFT.
// add_special_tokens(json, tokens, name): for each token in order, its id after the call:
//   - an added token with that content keeps its id (and becomes "special": true);
//   - a normal vocabulary token with those bytes is a baimo::Error (BPE produces it from its parts,
//     so it cannot also be a special token here; chat markers never are normal tokens in practice);
//   - otherwise a new id: 1 + the largest id in model.vocab and added_tokens so far, in order,
//     added to added_tokens as {"id", "content", "single_word": false, "lstrip": false,
//     "rstrip": false, "normalized": false, "special": true}.
// Returns the new tokenizer.json text (the whole document re-serialized, 2-space indent; object
// keys in nlohmann's sorted order, which no reader depends on), the ids, and how many ids are new
// (the model's embedding must grow to cover them). Bad JSON, an empty or non-UTF-8 token is a baimo::Error
// naming `name`. Loading the result with Tokenizer::from_tokenizer_json encodes each token's text
// (Specials::Allow, and every chat template marker) as its one id.
// chat_template_special_tokens(kind): the markers render_chat_ids emits for `kind` (none for Plain).
// missing_special_tokens(tok, kind): those of them that `tok` lacks as added tokens (render_chat_ids
// would encode them as text): what the SFT command adds before training a base model.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct AddedSpecialTokens {
  std::string json;
  std::vector<uint32_t> ids;  // one per requested token
  size_t new_ids = 0;         // ids that did not exist before
};

AddedSpecialTokens add_special_tokens(std::string_view tokenizer_json, std::span<const std::string> tokens,
                                      const std::string& name);
std::vector<std::string> chat_template_special_tokens(ChatTemplateKind kind);
std::vector<std::string> missing_special_tokens(const Tokenizer& tok, ChatTemplateKind kind);

}  // namespace baimo
