// Prompts for comparing models (`baimo eval winrate`): a file -> conversations that end with the
// turn the answers reply to. The file is a JSON array or JSONL (gzipped when it ends in .gz); its
// first record decides how it is read:
// - a preference pair (has "chosen"): data/preference_records.h; each pair's prompt (tools, if any,
//   appended to the system prompt as the chat readers do);
// - a prompt record: {"prompt": "text", "system"?: "text"} (one user turn, an optional system
//   prompt first) or {"messages": [{"role", "content"}...]} ending with a user (or tool) turn
//   (chat_records.h's OpenAI rules), "tools"? as there; an optional "answer" (a string or a number:
//   the reference answer of a verifiable task, what `baimo grpo`'s match reward compares with).
//   Every record must be one of the two;
// - anything else is an SFT file (data/chat_records.h, any format): each conversation up to its
//   last assistant turn (that turn and anything after it left out).
// Errors (baimo::Error) name the file, the record and, for JSONL, the line ("FILE: record N, line L")
// and the field. An empty result is an error. limit > 0 keeps the first `limit` prompts.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/chat_template.h"

namespace baimo::eval {

struct ChatPrompt {
  std::vector<ChatMessage> messages;  // optional system, then turns; ends with a user turn
  std::string where;                  // "file: record N[, line L]"
  std::string answer;                 // the record's "answer" ("" when it has none)
};

std::vector<ChatPrompt> read_chat_prompts(const std::string& path, size_t limit = 0);
// The same from text (`name` stands for the file in messages and `where`).
std::vector<ChatPrompt> parse_chat_prompts(std::string_view text, const std::string& name, size_t limit = 0);

// The prompt as the text a judge reads: the last user turn's content when the conversation has one
// user turn (plus a system prompt, which is dropped), else every turn as "User: ...", "Assistant: ..."
// paragraphs (system prompts as "System: ...").
std::string question_text(const std::vector<ChatMessage>& messages);

}  // namespace baimo::eval
