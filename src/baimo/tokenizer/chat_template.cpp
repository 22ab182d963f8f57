#include "baimo/tokenizer/chat_template.h"

#include <algorithm>
#include <cctype>

#include "baimo/util/error.h"

namespace baimo {
namespace {

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string capitalized(const std::string& role) {
  std::string r = role;
  if (!r.empty()) r[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(r[0])));
  return r;
}

}  // namespace

std::string render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  switch (kind) {
    case ChatTemplateKind::ChatML:
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatTemplateKind::Llama3:
      out += "<|begin_of_text|>";
      for (const auto& m : messages) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
        out += trim(m.content);
        out += "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatTemplateKind::Plain:
      for (const auto& m : messages) out += capitalized(m.role) + ": " + m.content + "\n\n";
      if (add_generation_prompt) out += "Assistant:";
      break;
  }
  return out;
}

ChatTemplateKind chat_template_from_name(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "chatml") return ChatTemplateKind::ChatML;
  if (n == "llama3" || n == "llama-3") return ChatTemplateKind::Llama3;
  if (n == "plain") return ChatTemplateKind::Plain;
  fail("unknown chat template '{}' (expected chatml, llama3 or plain)", name);
}

ChatTemplateKind detect_chat_template(std::string_view jinja, const Tokenizer& tokenizer) {
  if (jinja.find("<|im_start|>") != std::string_view::npos) return ChatTemplateKind::ChatML;
  if (jinja.find("<|start_header_id|>") != std::string_view::npos) return ChatTemplateKind::Llama3;
  if (tokenizer.token_to_id("<|im_start|>")) return ChatTemplateKind::ChatML;
  if (tokenizer.token_to_id("<|start_header_id|>") && tokenizer.token_to_id("<|eot_id|>"))
    return ChatTemplateKind::Llama3;
  return ChatTemplateKind::ChatML;
}

const char* chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML: return "chatml";
    case ChatTemplateKind::Llama3: return "llama3";
    case ChatTemplateKind::Plain: return "plain";
  }
  return "?";
}

std::string chat_end_of_turn(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML: return "<|im_end|>";
    case ChatTemplateKind::Llama3: return "<|eot_id|>";
    case ChatTemplateKind::Plain: return "\n\nUser:";
  }
  return "";
}

}  // namespace baimo
