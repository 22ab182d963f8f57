#include "baimo/data/chat_records.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "baimo/data/python_json.h"
#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace baimo {
namespace chat_records_test {

std::string sft_file(const std::string& name) { return test_data::shared_dir() + "/data/sft/" + name; }

#define NEED_SFT_DATA()                                                                      \
  if (!std::filesystem::exists(sft_file("alpaca_en_demo.json")))                              \
  GTEST_SKIP() << "no " << sft_file("") << " (set BAIMO_SHARED to the shared reference files)"

std::string error_of(const std::string& text, ChatFormat format = ChatFormat::Auto, const std::string& name = "t.jsonl") {
  try {
    parse_chat_records(text, name, format);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatRecords, ReadsEveryRealFileWithItsFormatDetected) {
  NEED_SFT_DATA();
  struct Case {
    const char* file;
    size_t records;
  } cases[] = {{"alpaca_en_demo.json", 999},          {"alpaca_zh_demo.json", 1000},
               {"glaive_toolcall_en_demo.json", 300}, {"glaive_toolcall_zh_demo.json", 300},
               {"identity.json", 91},                 {"user_oriented_instructions.jsonl", 252}};
  for (const Case& c : cases) {
    std::vector<ChatRecord> recs = read_chat_records(sft_file(c.file));
    EXPECT_EQ(recs.size(), c.records) << c.file;
    for (const ChatRecord& r : recs) {
      ASSERT_FALSE(r.messages.empty());
      EXPECT_EQ(r.messages.back().role, "assistant") << r.where;
      EXPECT_FALSE(r.exchanges.empty()) << r.where;
    }
  }
  // JSONL keeps the line in `where`.
  EXPECT_EQ(read_chat_records(sft_file("user_oriented_instructions.jsonl"))[2].where,
            sft_file("user_oriented_instructions.jsonl") + ": record 3, line 3");
}

TEST(ChatRecords, ChineseAlpacaJoinsInstructionAndInputWithOneNewline) {
  NEED_SFT_DATA();
  const std::vector<ChatRecord> recs = read_chat_records(sft_file("alpaca_zh_demo.json"));
  const nlohmann::json raw = nlohmann::json::parse(read_file(sft_file("alpaca_zh_demo.json")));
  ASSERT_EQ(recs.size(), raw.size());
  ASSERT_EQ(recs[0].messages.size(), 2u);
  EXPECT_EQ(recs[0].messages[0].role, "user");
  EXPECT_EQ(recs[0].messages[0].content, "识别并解释给定列表中的两个科学理论：细胞理论和日心说。");
  EXPECT_TRUE(recs[0].messages[1].content.starts_with("细胞理论是生物科学的一个理论"));
  EXPECT_EQ(recs[0].where, sft_file("alpaca_zh_demo.json") + ": record 1");
  size_t with_input = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string input = raw[i]["input"];
    if (input.empty()) continue;
    ++with_input;
    EXPECT_EQ(recs[i].messages[0].content, raw[i]["instruction"].get<std::string>() + "\n" + input);
    EXPECT_EQ(recs[i].messages[1].content, raw[i]["output"].get<std::string>());
  }
  EXPECT_EQ(with_input, 139u);
}

TEST(ChatRecords, ShareGptToolCallsBecomeQwenToolBlocks) {
  NEED_SFT_DATA();
  const std::vector<ChatRecord> recs = read_chat_records(sft_file("glaive_toolcall_en_demo.json"));
  const ChatRecord& r = recs[0];
  ASSERT_EQ(r.messages.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(r.messages[i].role, i % 2 ? "assistant" : "user") << i;
  EXPECT_EQ(r.messages[3].content,
            "<tool_call>\n{\"name\": \"search_recipes\", \"arguments\": {\"ingredients\": [\"chicken\", \"bell "
            "peppers\", \"rice\"]}}\n</tool_call>");
  EXPECT_TRUE(r.messages[4].content.starts_with("<tool_response>\n{\"recipes\": [{\"name\": \"Chicken and Bell"));
  EXPECT_TRUE(r.messages[4].content.ends_with("}]}\n</tool_response>"));
  EXPECT_EQ(r.exchanges, (std::vector<size_t>{0, 2, 6}));  // the tool result does not start an exchange
  ASSERT_FALSE(r.tools.empty());
  const std::vector<ChatMessage> msgs = template_messages(r);
  ASSERT_EQ(msgs.size(), 9u);
  EXPECT_EQ(msgs[0].role, "system");
  EXPECT_TRUE(msgs[0].content.starts_with(
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
      "function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": "
      "{\"name\": \"search_recipes\", \"description\": "))
      << msgs[0].content;
  // A record without tools ("" in the file) renders no tools block.
  size_t without = 0;
  for (const ChatRecord& x : recs) without += x.tools.empty();
  EXPECT_EQ(without, 109u);
}

TEST(ChatRecords, QwenToolsBlockMatchesTheQwen25Template) {
  const std::string tools = R"([{"name": "f", "parameters": {"type": "object"}}, {"type": "function", "function": {"name": "g"}}])";
  const std::string expected =
      "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
      "function signatures within <tools></tools> XML tags:\n<tools>\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}}\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"g\"}}\n</tools>\n\n"
      "For each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call>";
  EXPECT_EQ(qwen_tools_system_text(tools, true), expected);
  EXPECT_EQ(qwen_tools_system_text(tools, false), expected.substr(2));
  EXPECT_EQ(qwen_tools_system_text("[]", true), "");
  // With a system prompt the block follows it (as in the Qwen2.5 template, after "\n\n").
  ChatRecord r;
  r.messages = {{"system", "Be brief."}, {"user", "hi"}, {"assistant", "ok"}};
  r.tools = tools;
  EXPECT_EQ(template_messages(r)[0].content, "Be brief." + expected);
}

// The expected text is the published Qwen2.5-7B-Instruct chat template (../shared/vectors/templates)
// rendered by jinja2 with HF's tojson for the same conversation given as OpenAI messages with tools.
TEST(ChatRecords, ToolConversationRendersAsTheQwen25TemplateDoes) {
  const std::string expected =
      "<|im_start|>system\n你是助手。\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"查询天气\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\n北京天气？<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"北京\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 3}\n</tool_response><|im_end|>\n<|im_start|>assistant\n北京 3 度。<|im_end|>\n";
  const std::string sharegpt =
      R"([{"conversations": [{"from": "human", "value": "北京天气？"}, {"from": "function_call", "value": "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"北京\"}}"}, {"from": "observation", "value": "{\"temp\": 3}"}, {"from": "gpt", "value": "北京 3 度。"}], "system": "你是助手。", "tools": "[{\"name\": \"get_weather\", \"description\": \"查询天气\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}]"}])";
  const std::string openai =
      R"({"messages": [{"role": "system", "content": "你是助手。"}, {"role": "user", "content": "北京天气？"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"北京\"}"}}]}, {"role": "tool", "content": "{\"temp\": 3}"}, {"role": "assistant", "content": "北京 3 度。"}], "tools": [{"type": "function", "function": {"name": "get_weather", "description": "查询天气", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]})";
  for (const std::string& text : {sharegpt, openai}) {
    const std::vector<ChatRecord> recs = parse_chat_records(text, "t");
    ASSERT_EQ(recs.size(), 1u);
    const std::vector<ChatMessage> msgs = template_messages(recs[0]);
    EXPECT_EQ(render_chat(ChatTemplateKind::ChatML, msgs, false), expected) << text;
  }
}

TEST(ChatRecords, PythonJsonDumpsKeepsOrderAndUnicode) {
  const auto v = nlohmann::ordered_json::parse(R"({"b": 1, "a": [1.5, "é\n\"", null, true, {}], "c": -2})");
  EXPECT_EQ(python_json_dumps(v), "{\"b\": 1, \"a\": [1.5, \"é\\n\\\"\", null, true, {}], \"c\": -2}");
}

TEST(ChatRecords, IdentityPlaceholdersAreFilled) {
  NEED_SFT_DATA();
  const std::vector<ChatRecord> recs =
      read_chat_records(sft_file("identity.json"), ChatFormat::Auto, {{"name", "百模"}, {"author", "Baimo Team"}});
  EXPECT_EQ(recs[0].messages[1].content, "Hello! I am 百模, an AI assistant developed by Baimo Team. How can I assist you today?");
  for (const ChatRecord& r : recs)
    for (const ChatMessage& m : r.messages) EXPECT_EQ(m.content.find("{{"), std::string::npos) << r.where;
  // Without values the placeholders stay; an unknown key stays too.
  EXPECT_NE(read_chat_records(sft_file("identity.json"))[0].messages[1].content.find("{{name}}"), std::string::npos);
  const auto one = parse_chat_records(R"([{"instruction": "{{x}} {{name}}", "output": "{{name}}}"}])", "p.json",
                                      ChatFormat::Auto, {{"name", "N"}});
  EXPECT_EQ(one[0].messages[0].content, "{{x}} N");
  EXPECT_EQ(one[0].messages[1].content, "N}");
}

TEST(ChatRecords, OpenAiMessagesWithToolCallsAndToolResults) {
  TempDir dir("baimo_chat_records_");
  const std::string path = dir.file(
      "chat.jsonl",
      R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "weather?"},)"
      R"( {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": "{\"city\": \"北京\"}"}},)"
      R"( {"type": "function", "function": {"name": "t", "arguments": {}}}]},)"
      R"( {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "12:00"},)"
      R"( {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": [{"type": "text", "text": "and "}, {"type": "text", "text": "now?"}]},)"
      R"( {"role": "assistant", "content": "Still sunny."}], "tools": [{"type": "function", "function": {"name": "w"}}]})"
      "\n\n"
      R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})"
      "\n");
  const std::vector<ChatRecord> recs = read_chat_records(path);
  ASSERT_EQ(recs.size(), 2u);
  const ChatRecord& r = recs[0];
  ASSERT_EQ(r.messages.size(), 7u);
  EXPECT_EQ(r.messages[0].content, "S");
  EXPECT_EQ(r.messages[2].content,
            "<tool_call>\n{\"name\": \"w\", \"arguments\": {\"city\": \"北京\"}}\n</tool_call>\n"
            "<tool_call>\n{\"name\": \"t\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(r.messages[3].role, "user");
  EXPECT_EQ(r.messages[3].content, "<tool_response>\nsunny\n</tool_response>\n<tool_response>\n12:00\n</tool_response>");
  EXPECT_EQ(r.messages[5].content, "and now?");
  EXPECT_EQ(r.exchanges, (std::vector<size_t>{1, 5}));
  EXPECT_EQ(r.tools, R"([{"type": "function", "function": {"name": "w"}}])");
  EXPECT_EQ(recs[1].where, path + ": record 2, line 3");
}

TEST(ChatRecords, MalformedRecordsNameFileRecordLineAndField) {
  struct Case {
    std::string text, expected;
    ChatFormat format = ChatFormat::Auto;
  } cases[] = {
      {R"({"messages": [{"role": "user", "content": "hi"}]})",
       "t.jsonl: record 1, line 1: field 'messages': expected the conversation to end with an assistant turn"},
      {"{\"instruction\": \"a\", \"output\": \"b\"}\n"
       R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"}]})",
       "t.jsonl: record 2, line 2: looks like openai but the file is read as alpaca (detected from record 1)"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"}]})",
       "record 1, line 1: field 'messages[2]': an assistant turn after an assistant turn; expected a user turn"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})",
       "field 'messages[1]': a user turn after a user turn; expected an assistant turn"},
      {R"({"messages": [{"role": "assistant", "content": "a"}]})",
       "field 'messages[0]': an assistant turn after the start of the conversation"},
      {R"({"messages": [{"role": "bot", "content": "a"}]})",
       "field 'messages[0].role': expected system, user, assistant or tool, got \"bot\""},
      {R"({"messages": [{"role": "user", "content": 3}]})", "field 'messages[0].content': expected a string, got a number"},
      {R"({"messages": [{"role": "user"}]})", "field 'messages[0].content': missing"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]})",
       "field 'messages[1]': a system message is allowed only as the first message"},
      {R"({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "b"}]})",
       "field 'messages[0]': expected a non-empty user message"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]})",
       "field 'messages[1]': expected a non-empty assistant message"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}]})",
       "field 'messages[1].tool_calls[0].function.arguments': expected JSON text"},
      {R"({"messages": "hi"})", "field 'messages': expected an array of messages, got a string"},
      {"[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": \"x\"}]", "t.jsonl: record 2: field 'output': missing"},
      {R"([{"instruction": "a", "output": ""}])", "record 1: field 'output': expected a non-empty assistant message"},
      {R"([{"instruction": "", "input": "", "output": "b"}])", "record 1: field 'instruction': expected a non-empty instruction or input"},
      {R"([{"instruction": "a", "output": "b", "history": [["only one"]]}])",
       "record 1: field 'history[0]': expected a [user, assistant] pair of strings"},
      {R"([{"instruction": "a", "input": 5, "output": "b"}])", "record 1: field 'input': expected a string, got a number"},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "bot", "value": "b"}]}])",
       "record 1: field 'conversations[1].from': expected human, gpt, function_call, observation or system, got \"bot\""},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "function_call", "value": "{no"}]}])",
       "record 1: field 'conversations[1].value': expected JSON text of a tool call"},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "function_call", "value": "{\"arguments\": {}}"}]}])",
       "record 1: field 'conversations[1].value.name': missing"},
      {R"([{"conversations": [{"from": "observation", "value": "a"}, {"from": "gpt", "value": "b"}]}])",
       "record 1: field 'conversations[0]': a tool result before any assistant turn"},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}], "tools": "[{"}])",
       "record 1: field 'tools': expected a JSON array of tools in the string, got invalid JSON"},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}], "tools": [1]}])",
       "record 1: field 'tools[0]': expected an object, got a number"},
      {R"([{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c"}]}])",
       "record 1: field 'conversations': expected the conversation to end with an assistant turn"},
      {"{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"instruction\": \"a\", \"output\": \n",
       "t.jsonl: record 2, line 3: not valid JSON (one record per line expected)"},
      {"[1]", "t.jsonl: record 1: expected a JSON object, got a number"},
      {"[{\"text\": \"x\"}]", "record 1: not a chat record: expected a 'messages' (OpenAI), 'conversations' (ShareGPT)"},
      {"[{\"instruction\": \"a\", \"output\": \"b\"}", "t.jsonl: not valid JSON: "},
      {" \n ", "t.jsonl: no records (the file is empty)"},
      {"[]", "t.jsonl: no records"},
      {R"([{"instruction": "a", "output": "b"}])", "t.jsonl: record 1: looks like alpaca but the file is read as sharegpt (forced)",
       ChatFormat::ShareGPT},
      {R"([{"system": "a"}])", "record 1: field 'conversations': missing", ChatFormat::ShareGPT},
      {R"([{"conversations": []}])", "record 1: looks like sharegpt but the file is read as alpaca (forced)", ChatFormat::Alpaca},
  };
  for (const Case& c : cases) {
    const std::string got = error_of(c.text, c.format);
    EXPECT_NE(got.find(c.expected), std::string::npos) << "input: " << c.text << "\nexpected: " << c.expected << "\ngot: " << got;
  }
}

TEST(ChatRecords, FormatNames) {
  EXPECT_EQ(chat_format_from_name("ShareGPT"), ChatFormat::ShareGPT);
  EXPECT_EQ(chat_format_from_name("openai"), ChatFormat::OpenAI);
  EXPECT_EQ(chat_format_from_name("alpaca"), ChatFormat::Alpaca);
  EXPECT_EQ(chat_format_from_name("auto"), ChatFormat::Auto);
  EXPECT_THROW(chat_format_from_name("csv"), Error);
  EXPECT_STREQ(chat_format_name(ChatFormat::ShareGPT), "sharegpt");
}

}  // namespace chat_records_test

}  // namespace baimo
