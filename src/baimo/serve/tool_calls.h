// Function calling in chat completions: the text form a chat template gives tool calls, parsed out
// of the model's answer (whole or streamed), and the grammar that makes a required call parse.
// Formats (tool_call_format picks one from the chat template's Jinja text):
//   Hermes (Qwen2.5, Hermes, baimo's ChatML): "<tool_call>\n{"name": N, "arguments": {...}}\n</tool_call>"
//            blocks, several separated by "\n"; text outside the blocks is the message's content.
//   LlamaJson (Llama-3.1): the whole answer is {"name": N, "parameters": {...}} ("<|python_tag|>"
//            before it allowed; "arguments" accepted for "parameters").
// parse_tool_calls(format, text): the calls (arguments re-serialised compactly; an "arguments" given
// as JSON text is parsed) and the content (the text outside the calls, trimmed). A block ends at the
// first "</tool_call>" after which its JSON parses (a string value may hold that text), or at the end
// of the answer (the model ended the turn right after the JSON). A block that is not a JSON object
// with a string "name" and object arguments, and everything after it, stays content, so nothing the
// model wrote is lost.
// ToolCallStream: the same, fed a streamed answer piece by piece: content text as soon as it cannot
// be the start of a call, each call once its block closes (or at finish()); it finds exactly the calls
// the whole parse finds, however the answer is split (fuzz_tool_calls); without calls its content is
// the answer itself.
// tool_call_grammar: GBNF (infer/constrained/grammar.h) of one call (or, with `parallel`, one or
// more Hermes blocks) to one of `tools` (named: only that one), arguments valid under the
// function's "parameters" schema (json_schema.h; absent: any object); schema errors are baimo::Error
// naming the tool. new_tool_call_id(): "call_" + 24 random letters and digits.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace baimo::serve {

enum class ToolCallFormat { Hermes, LlamaJson };

ToolCallFormat tool_call_format(std::string_view chat_template_jinja);

struct ParsedToolCall {
  std::string name;
  std::string arguments;  // compact JSON text of an object
};

struct ParsedAnswer {
  std::string content;
  std::vector<ParsedToolCall> calls;
};

ParsedAnswer parse_tool_calls(ToolCallFormat format, std::string_view text);

class ToolCallStream {
 public:
  explicit ToolCallStream(ToolCallFormat format) : format_(format) {}
  struct Out {
    std::string content;
    std::vector<ParsedToolCall> calls;
  };
  Out feed(std::string_view text);
  Out finish();
  bool any_call() const { return calls_ > 0; }

 private:
  void emit_content(std::string_view text, Out& out);

  ToolCallFormat format_;
  std::string buf_;
  bool in_call_ = false;
  bool json_answer_ = false;  // LlamaJson: the answer started with '{': held whole until finish
  bool started_ = false;      // a non-space character was seen
  size_t scan_ = 0;           // in a call: where to look for the next "</tool_call>"
  int calls_ = 0;
};

std::string tool_call_grammar(ToolCallFormat format, std::string_view tools_json, const std::string& named,
                              bool parallel);

std::string new_tool_call_id();

}  // namespace baimo::serve
