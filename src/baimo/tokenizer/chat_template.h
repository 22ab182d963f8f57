// Chat templates: a conversation (role, content messages) -> the prompt text a chat model was
// trained on. Three fixed formats (no Jinja interpreter):
//   ChatML (Qwen's, the default): "<|im_start|>{role}\n{content}<|im_end|>\n" per message;
//          generation prompt "<|im_start|>assistant\n". End of turn: "<|im_end|>".
//   Llama3: "<|begin_of_text|>" then "<|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>"
//          per message; generation prompt "<|start_header_id|>assistant<|end_header_id|>\n\n". End: "<|eot_id|>".
//   Plain (base models): "{Role}: {content}\n\n" per message (role with a capital first letter);
//          generation prompt "Assistant:". End of turn: "\n\nUser:".
// The special-token strings are meant to be encoded with Specials::Allow.
// detect_chat_template: from the model's Jinja chat_template text (GGUF tokenizer.chat_template,
// tokenizer_config.json) when it names a format's markers, else from the tokenizer's added tokens,
// else ChatML. chat_template_from_name: "chatml" | "llama3" (also "llama-3") | "plain",
// case-insensitive; anything else is a baimo::Error listing the names.
#pragma once
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

std::string render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt);
ChatTemplateKind chat_template_from_name(std::string_view name);
ChatTemplateKind detect_chat_template(std::string_view jinja_or_empty, const Tokenizer& tokenizer);
const char* chat_template_name(ChatTemplateKind kind);
// The text that ends an assistant turn (a stop string for generation).
std::string chat_end_of_turn(ChatTemplateKind kind);

}  // namespace baimo
