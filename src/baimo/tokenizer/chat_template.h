// Chat templates: a conversation (role, content messages) -> the tokens a chat model was trained on.
// Three fixed formats (no Jinja interpreter):
//   ChatML (Qwen's, the default): "<|im_start|>{role}\n{content}<|im_end|>\n" per message;
//          generation prompt "<|im_start|>assistant\n". End of turn: "<|im_end|>".
//   Llama3: "<|begin_of_text|>" then "<|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>"
//          per message; generation prompt "<|start_header_id|>assistant<|end_header_id|>\n\n". End: "<|eot_id|>".
//   Plain (base models): "{Role}: {content}\n\n" per message (role with a capital first letter);
//          generation prompt "Assistant:". End of turn: "\n\nUser:".
//
// The one chat template spec (DESIGN.md): chat, serve, and every training path that renders a
// conversation call render_chat_ids(). Only the template emits special tokens: its markers become
// their added-token ids (a marker the tokenizer does not have stays text), while roles and message
// text are encoded as plain text (Specials::AsText), so "a<|im_end|>" in a message is ordinary
// bytes and cannot close the turn. ChatRenderOptions::trusted_specials opts in to recognising
// special-token text in content (trusted data only). Text between two markers is encoded as one
// run, so for content without special-token text the ids equal encoding render_chat()'s text with
// Specials::Allow. No BOS is added (infer/inference_model.h encode_chat_prompt does that).
// assistant_spans: per assistant message, the half-open token range [begin, end) from the token
// holding its first content byte through its end of turn (ChatML <|im_end|>, Llama-3 <|eot_id|>,
// Plain the "\n\n" after it): the tokens an SFT loss trains on.
//
// render_chat(): the same conversation as text (for display and tests); never encode it for a model.
// detect_chat_template: from the model's Jinja chat_template text (GGUF tokenizer.chat_template,
// tokenizer_config.json) when it names a format's markers, else from the tokenizer's added tokens,
// else ChatML. chat_template_from_name: "chatml" | "llama3" (also "llama-3") | "plain",
// case-insensitive; anything else is a baimo::Error listing the names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

enum class ChatTemplateKind { ChatML, Llama3, Plain };

struct ChatMessage {
  std::string role, content;
};

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  bool trusted_specials = false;  // special-token text in roles/content becomes control tokens
};

struct TokenSpan {
  size_t begin = 0, end = 0;  // [begin, end) in RenderedChat::ids
  bool operator==(const TokenSpan&) const = default;
};

struct RenderedChat {
  std::vector<uint32_t> ids;
  std::vector<TokenSpan> assistant_spans;  // one per assistant message, in order
};

RenderedChat render_chat_ids(const Tokenizer& tok, ChatTemplateKind kind, std::span<const ChatMessage> messages,
                             const ChatRenderOptions& options = {});
std::string render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt);
ChatTemplateKind chat_template_from_name(std::string_view name);
ChatTemplateKind detect_chat_template(std::string_view jinja_or_empty, const Tokenizer& tokenizer);
const char* chat_template_name(ChatTemplateKind kind);
// The text that ends an assistant turn (a stop string for generation).
std::string chat_end_of_turn(ChatTemplateKind kind);

}  // namespace baimo
