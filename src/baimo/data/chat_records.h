// Chat records: instruction-tuning files -> conversations of (role, content) messages.
// read_chat_records(path, format, placeholders) reads a whole file; the format is detected from its
// first record (or forced) and every record must have it. A file is a JSON array of records, or
// JSONL (one record per non-blank line); a path ending in .gz is gunzipped first. Formats:
//   OpenAI:   {"messages": [{"role": system|user|assistant|tool, "content": str, "tool_calls"?: [...]}],
//              "tools"?: [...]}. An assistant's tool_calls ({"function": {"name", "arguments"}} each,
//              arguments an object or a JSON string) become <tool_call> blocks after its content;
//              a run of tool messages becomes one user turn of <tool_response> blocks.
//   Alpaca:   {"instruction", "input"?, "output", "system"?, "history"?: [[user, assistant], ...]}.
//              user = instruction + "\n" + input (LLaMA-Factory's AlpacaDatasetConverter joins the
//              non-empty ones with one "\n"). Also Self-Instruct's {"instruction", "instances":
//              [{"input", "output"}, ...]}: one record per instance.
//   ShareGPT: {"conversations": [{"from", "value"}], "system"?: str, "tools"?: str (JSON) | array};
//              from = human|user, gpt|assistant, function_call, observation|tool, system (first only).
// Tool turns are rendered as Qwen2.5's chat template does: function_call -> assistant content
// "<tool_call>\n{json}\n</tool_call>" (several joined by "\n"; JSON as Python's json.dumps with
// ensure_ascii=False: {"name": ..., "arguments": ...}), observation -> user content
// "<tool_response>\n{text}\n</tool_response>". Tools stay in ChatRecord::tools; template_messages()
// appends Qwen2.5's "# Tools" block to the system prompt (qwen_tools_system_text).
// Rules (LLaMA-Factory's converters; a violation is a baimo::Error, never a silently dropped record):
// an optional system message first, then turns alternate prompt side (user, tool results) and answer
// side (assistant, tool calls), starting with the prompt side and ending with an answer; two
// assistant turns in a row (or two users) are an error. Contents must be strings; user and assistant
// contents must not be empty (an assistant with tool calls may have empty content).
// Errors name the file, "record N" (1-based; JSONL adds "line L"), the field, and what was expected.
// Placeholders: every "{{key}}" whose key is in `placeholders` is replaced in all contents and the
// system prompt (identity datasets: {{name}}, {{author}}); other braces stay as they are.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/chat_template.h"

namespace baimo {

enum class ChatFormat { Auto, OpenAI, Alpaca, ShareGPT };

struct ChatRecord {
  std::vector<ChatMessage> messages;  // roles system (first only), user, assistant; ends with assistant
  std::vector<size_t> exchanges;      // index in messages of each exchange's first turn: a user turn
                                      // that is not a tool result (what truncation drops, earliest first)
  std::string tools;                  // JSON text of the tool list, or empty
  std::string where;                  // "file: record N" (", line L" for JSONL)
};

std::vector<ChatRecord> read_chat_records(const std::string& path, ChatFormat format = ChatFormat::Auto,
                                          const std::map<std::string, std::string>& placeholders = {});
// The same from text (`name` stands for the file in messages and `where`).
std::vector<ChatRecord> parse_chat_records(std::string_view text, const std::string& name,
                                           ChatFormat format = ChatFormat::Auto,
                                           const std::map<std::string, std::string>& placeholders = {});

// "auto" | "openai" | "alpaca" | "sharegpt" (case-insensitive), else a baimo::Error listing them.
ChatFormat chat_format_from_name(std::string_view name);
const char* chat_format_name(ChatFormat format);

// The messages to render: record.messages with, when record.tools is a non-empty list, the system
// prompt followed by qwen_tools_system_text (a system message is inserted when there is none).
std::vector<ChatMessage> template_messages(const ChatRecord& record);
// The record without its first `drop` exchanges (drop < exchanges.size(); the system prompt stays).
ChatRecord without_exchanges(const ChatRecord& record, size_t drop);
// Qwen2.5's tools block for a JSON array of tools: "\n\n# Tools\n\nYou may call ... <tools>" then
// "\n" + json.dumps({"type": "function", "function": tool}) per tool (a tool already of that shape
// as is), then "\n</tools>\n\nFor each function call, ... </tool_call>". With an empty system prompt
// the leading "\n\n" is left out. "" for an empty list.
std::string qwen_tools_system_text(std::string_view tools_json, bool after_system_text);
// One call as Qwen2.5's template writes it: "<tool_call>\n" + json.dumps({"name": name, "arguments":
// arguments}) + "\n</tool_call>" (arguments_json: JSON text, key order kept).
std::string qwen_tool_call_text(const std::string& name, std::string_view arguments_json);
// One tool result: "<tool_response>\n" + text + "\n</tool_response>".
std::string qwen_tool_response_text(const std::string& text);

}  // namespace baimo
