// render_jinja_chat_ids: a conversation rendered by a model's own Jinja chat template (what
// transformers' apply_chat_template(..., tokenize=True) does), as token ids.
// Contract: the template runs through render_chat_jinja (jinja/jinja.h) with the tokenizer's BOS and
// EOS text as bos_token / eos_token; the result is encoded with every added token recognised
// (Specials::Allow), except that special-token text inside the conversation's own strings (message
// contents, tool calls, tool definitions) stays plain text, as render_chat_ids keeps it: those
// strings are rendered with each special token's text swapped for a private marker (U+FDD0 n
// U+FDD1, noncharacters no text holds) that is encoded back as the token's text. No BOS is added
// here (infer/inference_model.h prepend_bos_once does that when the template did not).
// Errors are the template's (baimo::Error "template line L, column C: ...").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

std::vector<uint32_t> render_jinja_chat_ids(const Tokenizer& tok, const std::string& template_text,
                                            const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                            bool add_generation_prompt);

}  // namespace baimo
