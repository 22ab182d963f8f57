// Shared pieces of the chat-data readers (chat_records, preference_records); not a public API.
// - for_each_json_record: a file's text as records: one JSON array, or JSONL (one record per
//   non-blank line); a UTF-8 BOM is skipped; an empty file, invalid JSON or no record is an error.
//   The callback gets the record, its 1-based number and its line (0 for a JSON array).
// - Where: a record's context ("file: record N[, line L]") for errors naming the field.
// - TurnBuilder: the turn-order rules of chat_records.h (optional system first, prompt side and
//   answer side alternate, non-empty user and assistant contents). finish() wants a conversation
//   that ends with an answer (SFT), finish_prompt() one that ends on the prompt side (preference).
// - openai_messages / sharegpt_turns: the OpenAI and ShareGPT message rules of chat_records.h;
//   openai_answer / sharegpt_answer: one assistant message of each as its text (tool calls as
//   <tool_call> blocks); tools_text: a record's "tools" field as python-style JSON ("" for none).
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "baimo/data/chat_records.h"

namespace baimo::chat_json {

using Json = nlohmann::ordered_json;

const char* type_name(const Json& v);

struct Where {
  std::string where;
  [[noreturn]] void bad(const std::string& field, const std::string& expected) const;
  const Json& need(const Json& obj, const char* key, const std::string& field) const;
  const std::string& string(const Json& v, const std::string& field) const;
  const std::string& nonempty_string(const Json& v, const std::string& field) const;
  // An optional string field: absent or null -> "".
  std::string optional_string(const Json& obj, const char* key, const std::string& field) const;
};

std::string record_where(const std::string& name, size_t number, size_t line);
void for_each_json_record(std::string_view text, const std::string& name,
                          const std::function<void(const Json& record, size_t number, size_t line)>& each);

class TurnBuilder {
 public:
  explicit TurnBuilder(const Where& w) : w_(w) {}
  void system(const std::string& content, const std::string& field);
  void prompt(const std::string& content, bool tool_result, const std::string& field);
  void answer(const std::string& content, bool tool_call, const std::string& field);
  ChatRecord finish(const std::string& field, std::string tools, const std::map<std::string, std::string>& placeholders);
  ChatRecord finish_prompt(const std::string& field, std::string tools);

 private:
  const Where& w_;
  ChatRecord rec_;
  bool expect_answer_ = false;
  size_t answers_ = 0;
  const char* last_ = "";
};

std::string tools_text(const Where& w, const Json& record);
void openai_messages(const Where& w, const Json& msgs, const std::string& field, TurnBuilder& b);
// An assistant message object: its content, then its tool_calls' blocks; *tool_call = it has calls.
std::string openai_answer(const Where& w, const Json& m, const std::string& field, bool* tool_call);
void sharegpt_turns(const Where& w, const Json& conv, const std::string& field, const std::string& system,
                    TurnBuilder& b);
// A turn {"from": gpt|assistant|function_call, "value"}: its text; other senders are an error.
std::string sharegpt_answer(const Where& w, const Json& turn, const std::string& field, bool* tool_call);

}  // namespace baimo::chat_json
