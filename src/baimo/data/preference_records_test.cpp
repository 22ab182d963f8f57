#include "baimo/data/preference_records.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace baimo {
namespace preference_records_test {

std::string prefs_file(const std::string& name) { return test_data::shared_dir() + "/data/prefs/" + name; }

#define NEED_PREFS_DATA()                                            \
  if (!std::filesystem::exists(prefs_file("dpo_en_demo.json")))     \
  GTEST_SKIP() << "no " << prefs_file("") << " (set BAIMO_SHARED to the shared reference files)"

std::string error_of(const std::string& text, const std::string& name = "t.jsonl") {
  try {
    parse_preference_records(text, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

PreferenceRecord one(const std::string& text) {
  const std::vector<PreferenceRecord> r = parse_preference_records(text, "t.jsonl");
  EXPECT_EQ(r.size(), 1u);
  return r.at(0);
}

std::vector<std::string> roles(const PreferenceRecord& r) {
  std::vector<std::string> out;
  for (const ChatMessage& m : r.prompt) out.push_back(m.role);
  return out;
}

TEST(PreferenceRecords, ReadsTheLlamaFactoryDemoFiles) {
  NEED_PREFS_DATA();
  for (const char* f : {"dpo_en_demo.json", "dpo_zh_demo.json"}) {
    PreferenceReadStats st;
    const std::vector<PreferenceRecord> recs = read_preference_records(prefs_file(f), &st);
    const nlohmann::json raw = nlohmann::json::parse(read_file(prefs_file(f)));
    ASSERT_EQ(recs.size(), 300u) << f;
    ASSERT_EQ(raw.size(), 300u);
    EXPECT_EQ(st.records, 300u);
    EXPECT_EQ(st.pairs, 300u);
    size_t with_system = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
      const PreferenceRecord& r = recs[i];
      ASSERT_FALSE(r.prompt.empty());
      EXPECT_EQ(r.prompt.back().role, "user") << r.where;
      EXPECT_EQ(r.chosen, raw[i]["chosen"]["value"].get<std::string>());
      EXPECT_EQ(r.rejected, raw[i]["rejected"]["value"].get<std::string>());
      const nlohmann::json& conv = raw[i]["conversations"];
      with_system += r.prompt.front().role == "system";
      const size_t offset = r.prompt.front().role == "system" && conv[0]["from"] != "system" ? 1 : 0;
      ASSERT_EQ(r.prompt.size(), conv.size() + offset) << r.where;
      for (size_t k = 0; k < conv.size(); ++k) EXPECT_EQ(r.prompt[k + offset].content, conv[k]["value"].get<std::string>());
      EXPECT_EQ(r.exchanges.size(), (r.prompt.size() - (r.prompt.front().role == "system") + 1) / 2);
    }
    EXPECT_EQ(recs[4].where, prefs_file(f) + ": record 5");
    EXPECT_EQ(with_system, std::string(f) == "dpo_en_demo.json" ? 80u : 64u) << f;
  }
}

TEST(PreferenceRecords, ReadsAnthropicHhGzippedAndCountsItsSkippedPairs) {
  NEED_PREFS_DATA();
  const std::string path = prefs_file("hh-rlhf-harmless-base-test.jsonl.gz");
  PreferenceReadStats st;
  const std::vector<PreferenceRecord> recs = read_preference_records(path, &st);
  EXPECT_EQ(st.records, 2312u);
  EXPECT_EQ(st.empty_answer, 4u);  // lines 87, 517, 926, 1104: an empty chosen answer
  EXPECT_EQ(st.turn_order, 9u);    // two Assistant turns in a row (668, 764, 1255, ...)
  EXPECT_EQ(st.pairs, 2299u);
  EXPECT_EQ(recs.size(), 2299u);
  EXPECT_EQ(st.first_skipped, path + ": record 87, line 87");
  const PreferenceRecord& r = recs[0];
  EXPECT_EQ(r.where, path + ": record 1, line 1");
  EXPECT_EQ(roles(r), (std::vector<std::string>{"user", "assistant", "user", "assistant", "user"}));
  EXPECT_EQ(r.prompt[0].content, "what are some pranks with a pen i can do?");
  EXPECT_EQ(r.prompt[1].content, "Are you looking for practical joke ideas?");
  EXPECT_EQ(r.prompt[2].content, "yep");
  EXPECT_TRUE(r.prompt[3].content.starts_with("Ok, I’ll give you a couple examples")) << r.prompt[3].content;
  EXPECT_TRUE(r.prompt[3].content.ends_with("you will find a new place to watch.")) << r.prompt[3].content;
  EXPECT_EQ(r.prompt[4].content, "okay some of these do not have anything to do with pens");
  EXPECT_EQ(r.exchanges, (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(r.chosen,
            "No, sorry!  All of these involve a pen, the point is that you can get funny results by doing pranks with pens.");
  EXPECT_TRUE(r.rejected.ends_with("and unzip their zipper. It’s really funny.")) << r.rejected;
  for (const PreferenceRecord& x : recs) {
    ASSERT_EQ(x.prompt.back().role, "user") << x.where;
    ASSERT_NE(x.chosen, x.rejected) << x.where;
    ASSERT_FALSE(x.chosen.empty() || x.rejected.empty()) << x.where;
  }
}

TEST(PreferenceRecords, EveryFormat) {
  // ShareGPT pair with a system field and a tool call answer.
  PreferenceRecord r = one(
      R"({"conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}, {"from": "human", "value": "q2"}],)"
      R"( "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "function_call", "value": "{\"name\": \"f\", \"arguments\": {}}"},)"
      R"( "system": "S", "tools": "[{\"name\": \"f\"}]"})");
  EXPECT_EQ(roles(r), (std::vector<std::string>{"system", "user", "assistant", "user"}));
  EXPECT_EQ(r.exchanges, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(r.chosen, "good");
  EXPECT_EQ(r.rejected, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(r.tools, "[{\"name\": \"f\"}]");
  EXPECT_EQ(r.where, "t.jsonl: record 1, line 1");

  // OpenAI messages; answers as a string and as an assistant message.
  r = one(R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "q"}], "chosen": "yes",)"
          R"( "rejected": {"role": "assistant", "content": "no"}})");
  EXPECT_EQ(roles(r), (std::vector<std::string>{"system", "user"}));
  EXPECT_EQ(r.chosen, "yes");
  EXPECT_EQ(r.rejected, "no");

  // An assistant message with a tool call (its content may then be empty), tools as a list.
  r = one(R"({"messages": [{"role": "user", "content": "weather?"}], "tools": [{"name": "w"}], "chosen": {"role": "assistant", "content": null,)"
          R"( "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": "{\"c\": 1}"}}]}, "rejected": "no idea"})");
  EXPECT_EQ(r.chosen, "<tool_call>\n{\"name\": \"w\", \"arguments\": {\"c\": 1}}\n</tool_call>");
  EXPECT_EQ(r.tools, "[{\"name\": \"w\"}]");

  // TRL conversational: answers as one-message lists.
  r = one(R"({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "yes"}],)"
          R"( "rejected": [{"role": "assistant", "content": "no"}]})");
  EXPECT_EQ(r.prompt[0].content, "q");
  EXPECT_EQ(r.chosen, "yes");
  EXPECT_EQ(r.rejected, "no");

  // TRL standard text, and UltraFeedback's shape (prompt text, full chats as answers, "messages" too).
  r = one(R"({"prompt": "q", "chosen": "yes", "rejected": "no"})");
  EXPECT_EQ(roles(r), (std::vector<std::string>{"user"}));
  EXPECT_EQ(r.exchanges, (std::vector<size_t>{0}));
  r = one(R"({"prompt": "q", "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "yes"}],)"
          R"( "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "no"}],)"
          R"( "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "yes"}]})");
  EXPECT_EQ(r.chosen, "yes");
  EXPECT_EQ(r.rejected, "no");

  // Anthropic HH, contents trimmed.
  r = one(R"({"chosen": "\n\nHuman: hi \n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant:  4 ", "rejected": "\n\nHuman: hi \n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 5"})");
  EXPECT_EQ(roles(r), (std::vector<std::string>{"user", "assistant", "user"}));
  EXPECT_EQ(r.prompt[0].content, "hi");
  EXPECT_EQ(r.prompt[2].content, "2+2?");
  EXPECT_EQ(r.chosen, "4");
  EXPECT_EQ(r.rejected, "5");

  // Formats may mix in one file (each record is detected by its fields); a JSON array names no line.
  const auto two = parse_preference_records(R"([{"prompt": "q", "chosen": "a", "rejected": "b"},)"
                                            R"( {"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: q\n\nAssistant: b"}])",
                                            "t.json");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].where, "t.json: record 2");
}

TEST(PreferenceRecords, HhDefectsAreCountedSkipsButOnlyInHh) {
  PreferenceReadStats st;
  const auto recs = parse_preference_records(
      "{\"chosen\": \"\\n\\nHuman: q\\n\\nAssistant: \", \"rejected\": \"\\n\\nHuman: q\\n\\nAssistant: b\"}\n"
      "{\"chosen\": \"\\n\\nHuman: q\\n\\nAssistant: x\\n\\nAssistant: a\", \"rejected\": \"\\n\\nHuman: q\\n\\nAssistant: b\"}\n"
      "{\"chosen\": \"\\n\\nHuman: q\\n\\nAssistant: a\", \"rejected\": \"\\n\\nHuman: q\\n\\nAssistant: b\"}\n",
      "t.jsonl", &st);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].where, "t.jsonl: record 3, line 3");
  EXPECT_EQ(st.records, 3u);
  EXPECT_EQ(st.pairs, 1u);
  EXPECT_EQ(st.empty_answer, 1u);
  EXPECT_EQ(st.turn_order, 1u);
  EXPECT_EQ(st.first_skipped, "t.jsonl: record 1, line 1");
  // Nothing left: an error with the counts.
  EXPECT_NE(error_of("{\"chosen\": \"\\n\\nHuman: q\\n\\nAssistant: \", \"rejected\": \"\\n\\nHuman: q\\n\\nAssistant: b\"}")
                .find("no preference pairs (1 records; skipped: 1 with an empty answer"),
            std::string::npos);
  // An empty answer in any other format is an error.
  EXPECT_NE(error_of(R"({"prompt": "q", "chosen": "", "rejected": "b"})").find("field 'chosen': expected a non-empty answer"),
            std::string::npos);
}

TEST(PreferenceRecords, ErrorsNameFileRecordAndField) {
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"{\"prompt\": \"q\", \"chosen\": \"a\"\n", "t.jsonl: record 1, line 1: not valid JSON"},
      {"[{\"prompt\": \"q\"", "t.jsonl: not valid JSON"},
      {"\n{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n\n{\"prompt\": \"q\", \"chosen\": \"a\"}",
       "t.jsonl: record 2, line 4: field 'rejected': missing"},
      {R"({"prompt": "q", "chosen": 3, "rejected": "b"})", "record 1, line 1: field 'chosen': expected a string, an assistant message"},
      {R"({"prompt": "q", "chosen": "a", "rejected": "b   "})", "(no error)"},
      {R"({"prompt": "q", "chosen": "a", "rejected": "a"})", "field 'rejected': the same answer as chosen"},
      {R"({"prompt": "q", "chosen": "a", "rejected": ""})", "field 'rejected': expected a non-empty answer"},
      {R"({"prompt": "", "chosen": "a", "rejected": "b"})", "field 'prompt': expected a non-empty user message"},
      {R"({"messages": [], "chosen": "a", "rejected": "b"})", "field 'messages': expected a non-empty prompt"},
      {R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}], "chosen": "a", "rejected": "b"})",
       "field 'messages': expected the prompt to end with a user turn"},
      {R"({"messages": [{"role": "robot", "content": "q"}], "chosen": "a", "rejected": "b"})",
       "field 'messages[0].role': expected system, user, assistant or tool, got \"robot\""},
      {R"({"prompt": "q", "chosen": {"role": "user", "content": "a"}, "rejected": "b"})",
       "field 'chosen.role': expected \"assistant\" (the answer), got \"user\""},
      {R"({"prompt": "q", "chosen": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "a"}], "rejected": "b"})",
       "field 'chosen': the messages before the answer are not the record's prompt"},
      {R"({"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "human", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}})",
       "field 'chosen.from': expected an answer (gpt, assistant or function_call), got \"human\""},
      {R"({"conversations": [{"from": "alien", "value": "q"}], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}})",
       "field 'conversations[0].from': expected human, gpt, function_call, observation or system, got \"alien\""},
      {R"({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "x"}], "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}})",
       "field 'conversations': expected the prompt to end with a user turn"},
      {R"({"conversations": [{"from": "human", "value": "q"}], "chosen": "a", "rejected": {"from": "gpt", "value": "b"}})",
       "field 'chosen': expected a turn object, got a string"},
      {R"({"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: other\n\nAssistant: b"})",
       "t.jsonl: record 1, line 1: chosen and rejected share no prompt"},
      {R"({"chosen": "Q: q A: a", "rejected": "\n\nHuman: q\n\nAssistant: b"})", "field 'chosen': expected an Anthropic HH transcript"},
      {R"({"chosen": "\n\nHuman: q\n\nAssistant: a\n\nHuman: more", "rejected": "\n\nHuman: q\n\nAssistant: b"})",
       "field 'chosen': expected the transcript to end with an Assistant turn"},
      {R"({"chosen": "\n\nAssistant: a", "rejected": "\n\nAssistant: b"})", "field 'chosen': expected the transcript to start with a Human turn"},
      {R"({"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": 5})", "field 'rejected': expected a string, got a number"},
      {R"({"text": "hi"})", "t.jsonl: record 1, line 1: not a preference record"},
      {"[1]", "t.jsonl: record 1: expected a JSON object, got a number"},
      {"  \n", "t.jsonl: no records (the file is empty)"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.text);
    EXPECT_NE(e.find(c.expected), std::string::npos) << c.text << "\n  got: " << e;
  }
}

TEST(PreferenceRecords, GzipErrorsNameTheFile) {
  TempDir dir("baimo_prefs_gz_");
  const std::string bad = dir.file("bad.jsonl.gz", "not gzip at all");
  try {
    read_preference_records(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ": not valid gzip data"), std::string::npos) << e.what();
  }
  // A truncated stream.
  NEED_PREFS_DATA();
  const std::string whole = read_file(prefs_file("hh-rlhf-harmless-base-test.jsonl.gz"));
  const std::string cut = dir.file("cut.jsonl.gz", whole.substr(0, whole.size() / 2));
  try {
    read_preference_records(cut);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cut + ": truncated gzip data"), std::string::npos) << e.what();
  }
}

}  // namespace preference_records_test

}  // namespace baimo
