#include "baimo/serve/tool_calls.h"

#include <gtest/gtest.h>

#include "baimo/infer/constrained/grammar.h"
#include "baimo/infer/constrained/json_schema.h"
#include "baimo/infer/constrained/recognizer.h"
#include "baimo/util/error.h"

namespace baimo::serve {
namespace tool_calls_test {

TEST(ToolCalls, FormatFromTemplate) {
  EXPECT_EQ(tool_call_format("... <tool_call>\\n{\"name\": ..."), ToolCallFormat::Hermes);
  EXPECT_EQ(tool_call_format("{{- '\"parameters\": ' }}"), ToolCallFormat::LlamaJson);
  EXPECT_EQ(tool_call_format("{% for m in messages %}{% endfor %}"), ToolCallFormat::Hermes);
}

TEST(ToolCalls, ParseHermesBlocks) {
  auto a = parse_tool_calls(ToolCallFormat::Hermes,
                            "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"巴黎\", \"n\": 2}}\n"
                            "</tool_call>\n<tool_call>\n{\"name\": \"time\", \"arguments\": \"{\\\"tz\\\": \\\"UTC\\\"}\"}\n</tool_call>");
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.content, "Let me check.");
  EXPECT_EQ(a.calls[0].name, "get_weather");
  EXPECT_EQ(a.calls[0].arguments, "{\"city\":\"巴黎\",\"n\":2}");  // key order kept, compact
  EXPECT_EQ(a.calls[1].arguments, "{\"tz\":\"UTC\"}");            // arguments given as JSON text
  // The turn ended right after the JSON: the last block needs no closing tag.
  a = parse_tool_calls(ToolCallFormat::Hermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.content, "");
  // A block that is not a well-formed call stays text, beside the calls that are.
  a = parse_tool_calls(ToolCallFormat::Hermes,
                       "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call> and <tool_call>oops</tool_call>");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.content, "and <tool_call>oops</tool_call>");
  // "</tool_call>" inside a string value does not end the block (a constrained answer may write it).
  const std::string inside = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": \"}</tool_call>{\"}}\n</tool_call>";
  a = parse_tool_calls(ToolCallFormat::Hermes, inside);
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].arguments, "{\"s\":\"}</tool_call>{\"}");
  EXPECT_EQ(a.content, "");
  // Nothing well-formed: the whole answer is content.
  for (const char* text : {"<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>",
                           "<tool_call>\n{\"arguments\": {}}\n</tool_call>", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\n</tool_call>",
                           "a <tool_call> b", "plain answer"}) {
    a = parse_tool_calls(ToolCallFormat::Hermes, text);
    EXPECT_TRUE(a.calls.empty()) << text;
    EXPECT_EQ(a.content, std::string(text)) << text;
  }
}

TEST(ToolCalls, ParseLlamaJson) {
  auto a = parse_tool_calls(ToolCallFormat::LlamaJson, " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].arguments, "{\"city\":\"Paris\"}");
  a = parse_tool_calls(ToolCallFormat::LlamaJson, "<|python_tag|>{\"name\": \"f\", \"arguments\": {}}");
  ASSERT_EQ(a.calls.size(), 1u);
  a = parse_tool_calls(ToolCallFormat::LlamaJson, "It is {\"name\": 1}");
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.content, "It is {\"name\": 1}");
}

// Feeds `text` in pieces of `step` bytes; returns the content streamed and the calls.
ToolCallStream::Out stream(ToolCallFormat f, const std::string& text, size_t step) {
  ToolCallStream s(f);
  ToolCallStream::Out all;
  auto take = [&](ToolCallStream::Out o) {
    all.content += o.content;
    for (auto& c : o.calls) all.calls.push_back(std::move(c));
  };
  for (size_t i = 0; i < text.size(); i += step) take(s.feed(text.substr(i, step)));
  take(s.finish());
  return all;
}

TEST(ToolCalls, StreamMatchesWholeParse) {
  const std::string texts[] = {
      "Sure.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": \"<tool\"}}\n</tool_call>\n<tool_call>\n"
      "{\"name\": \"b\", \"arguments\": {}}\n</tool_call>",
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": 1}}",  // ended without the closing tag
      "no call here, only < and <tool but not a call",
      "<tool_call>\nbroken\n</tool_call> after",
      "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>bad</tool_call>",
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": \"}</tool_call>{\"}}\n</tool_call> ok",
  };
  for (const auto& t : texts) {
    const ParsedAnswer whole = parse_tool_calls(ToolCallFormat::Hermes, t);
    for (size_t step : {1, 3, 7, 1000}) {
      auto s = stream(ToolCallFormat::Hermes, t, step);
      ASSERT_EQ(s.calls.size(), whole.calls.size()) << t << " step " << step;
      for (size_t k = 0; k < s.calls.size(); ++k) {
        EXPECT_EQ(s.calls[k].name, whole.calls[k].name);
        EXPECT_EQ(s.calls[k].arguments, whole.calls[k].arguments);
      }
      if (whole.calls.empty()) {
        EXPECT_EQ(s.content, t) << "step " << step;  // everything streamed as text
      } else if (t.rfind("Sure.", 0) == 0) {
        EXPECT_EQ(s.content, "Sure.\n") << "step " << step;
      }
    }
  }
  auto l = stream(ToolCallFormat::LlamaJson, "{\"name\": \"f\", \"parameters\": {\"a\": [1, 2]}}", 2);
  ASSERT_EQ(l.calls.size(), 1u);
  EXPECT_EQ(l.content, "");
  l = stream(ToolCallFormat::LlamaJson, "Hello there", 2);
  EXPECT_TRUE(l.calls.empty());
  EXPECT_EQ(l.content, "Hello there");
}

const char* kTools = R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
  "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "now"}}])";

bool accepts(const std::string& grammar, const std::string& text) {
  return constrained::grammar_accepts(constrained::parse_grammar(grammar), text);
}

TEST(ToolCalls, GrammarAcceptsExactlyCallsToTheTools) {
  const std::string g = tool_call_grammar(ToolCallFormat::Hermes, kTools, "", false);
  const std::string weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"c\"}}\n</tool_call>";
  const std::string now = "<tool_call>\n{\"name\": \"now\", \"arguments\": {\"any\": [1]}}\n</tool_call>";
  EXPECT_TRUE(accepts(g, weather));
  EXPECT_TRUE(accepts(g, now));
  EXPECT_FALSE(accepts(g, weather + "\n" + now));  // one call unless parallel
  EXPECT_FALSE(accepts(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(g, "<tool_call>\n{\"name\": \"other\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(accepts(g, "Sure! " + weather));
  // Each accepted text parses back to the call.
  auto a = parse_tool_calls(ToolCallFormat::Hermes, weather);
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].arguments, "{\"city\":\"Oslo\",\"unit\":\"c\"}");

  const std::string par = tool_call_grammar(ToolCallFormat::Hermes, kTools, "", true);
  EXPECT_TRUE(accepts(par, weather + "\n" + now));
  const std::string named = tool_call_grammar(ToolCallFormat::Hermes, kTools, "now", true);
  EXPECT_TRUE(accepts(named, now));
  EXPECT_FALSE(accepts(named, weather));
  const std::string llama = tool_call_grammar(ToolCallFormat::LlamaJson, kTools, "", true);
  EXPECT_TRUE(accepts(llama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"unit\": \"f\"}}"));
  EXPECT_FALSE(accepts(llama, weather));
}

TEST(ToolCalls, GrammarErrorsNameTheTool) {
  const char* bad = R"([{"type": "function", "function": {"name": "a"}},
    {"type": "function", "function": {"name": "b", "parameters": {"type": "string", "format": "email"}}}])";
  try {
    tool_call_grammar(ToolCallFormat::Hermes, bad, "", false);
    ADD_FAILURE() << "accepted";
  } catch (const constrained::UnsupportedSchema& e) {
    EXPECT_NE(std::string(e.what()).find("tools[1] (b)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("format"), std::string::npos) << e.what();
  }
}

TEST(ToolCalls, CallIds) {
  const std::string a = new_tool_call_id(), b = new_tool_call_id();
  EXPECT_EQ(a.size(), 29u);
  EXPECT_EQ(a.substr(0, 5), "call_");
  EXPECT_NE(a, b);
}

}  // namespace tool_calls_test
}  // namespace baimo::serve
