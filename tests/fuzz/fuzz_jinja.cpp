// libFuzzer target: arbitrary bytes as a Jinja chat template, rendered with a fixed chat context
// (messages with tool calls, tools, special tokens). Rendering must either return text or throw
// baimo::Error: never crash, hang or read out of bounds (the interpreter bounds nesting, macro
// recursion, loop steps and output size).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/tokenizer/jinja/jinja.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful. 你好"},
    {"role": "user", "content": "What is the weather?"},
    {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {"city": "北京"}}}]},
    {"role": "tool", "content": "{\"t\": 21}"},
    {"role": "assistant", "content": " 21 degrees.\n"}])");
  static const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(R"([
    {"type": "function", "function": {"name": "w", "description": "weather",
     "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "a city"}}}}}])");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)baimo::render_chat_jinja(text, messages, tools, true, "<s>", "</s>");
  } catch (const baimo::Error&) {
  }
  return 0;
}
