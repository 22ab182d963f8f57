#include "baimo/serve/choice_assembler.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace baimo::serve {
namespace choice_assembler_test {
using json = nlohmann::json;

// Bytes 0..255 as tokens, plus two special tokens.
const Tokenizer& byte_tokenizer() {
  static const Tokenizer tok = [] {
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
    return Tokenizer::from_bpe(PreTokenizerKind::Gpt2, bytes, {},
                               {AddedToken{256, "<|endoftext|>", true}, AddedToken{257, "<|im_end|>", true}});
  }();
  return tok;
}

SeqEvent event(int32_t id, const std::string& text, bool finished = false) {
  SeqEvent e;
  e.step.id = id;
  e.step.text = text;
  e.step.logprob = -0.5f;
  e.step.top = {{id, -0.5f}};
  e.step.finished = finished;
  if (finished) e.step.finish_reason = "stop";
  e.time = std::chrono::steady_clock::now();
  return e;
}

// "a", <|endoftext|> (no text), "b", then the end-of-turn token that finishes the answer.
std::vector<SeqEvent> answer_with_specials() {
  return {event('a', "a"), event(256, ""), event('b', "b"), event(257, "", true)};
}

TEST(ChoiceAssembler, ChatLogprobsHaveOneEntryPerGeneratedTokenSpecialOnesIncluded) {
  ChoiceAssembler a(ResponseMeta{Endpoint::Chat, "chatcmpl-1", 0, "m", true, false, {}}, 1, byte_tokenizer());
  for (const auto& e : answer_with_specials()) a.add_event(e);
  json j = a.whole(3);
  EXPECT_EQ(j["usage"]["completion_tokens"], 4);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "ab");
  const json& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 4u) << content.dump();
  EXPECT_EQ(content[1]["token"], "<|endoftext|>");
  EXPECT_EQ(content[3]["token"], "<|im_end|>");
  EXPECT_EQ(content[3]["top_logprobs"][0]["token"], "<|im_end|>");
}

TEST(ChoiceAssembler, CompletionOfOnlySpecialTokensListsThemAndKeepsTextOffsets) {
  ChoiceAssembler a(ResponseMeta{Endpoint::Completion, "cmpl-1", 0, "m", true, false, {}}, 1, byte_tokenizer());
  a.add_event(event(256, ""));
  a.add_event(event(256, "", true));
  json lp = a.whole(1)["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"<|endoftext|>", "<|endoftext|>"}));
  EXPECT_EQ(lp["text_offset"], json({0, 0}));  // special tokens are not in the text

  ChoiceAssembler b(ResponseMeta{Endpoint::Completion, "cmpl-2", 0, "m", true, false, {}}, 1, byte_tokenizer());
  for (const auto& e : answer_with_specials()) b.add_event(e);
  EXPECT_EQ(b.whole(1)["choices"][0]["logprobs"]["text_offset"], json({0, 1, 1, 2}));
}

TEST(ChoiceAssembler, StreamedSpecialTokensCarryTheirLogprobs) {
  ChoiceAssembler a(ResponseMeta{Endpoint::Chat, "chatcmpl-2", 0, "m", true, false, {}}, 1, byte_tokenizer());
  std::string sse;
  for (const auto& e : answer_with_specials()) a.stream_event(e, sse);
  size_t entries = 0, pos = 0;
  while ((pos = sse.find("data: {", pos)) != std::string::npos) {
    size_t end = sse.find("\n\n", pos);
    json chunk = json::parse(sse.substr(pos + 6, end - pos - 6));
    const json& lp = chunk["choices"][0]["logprobs"];
    if (!lp.is_null()) entries += lp["content"].size();
    pos = end;
  }
  EXPECT_EQ(entries, 4u) << sse;
  EXPECT_EQ(a.completion_tokens(), 4);
}

TEST(ChoiceAssembler, EchoPutsThePromptAndItsLogprobsFirst) {
  // max_tokens 0: one event without a token ends the choice.
  ChoiceAssembler a(ResponseMeta{Endpoint::Completion, "cmpl-3", 0, "m", true, false, {}}, 1, byte_tokenizer());
  SeqEvent end;
  end.step.finished = true;
  end.step.finish_reason = "length";
  a.add_event(end);
  std::vector<PromptLogprob> lps(3);
  lps[1].logprob = -1.25;
  lps[1].top = {{'b', -0.5f}};
  lps[2].logprob = -0.0625;
  a.echo_prompt("ab ", {'a', 'b', ' '}, lps, true, false);
  json j = a.whole(3);
  EXPECT_EQ(j["usage"]["completion_tokens"], 0);
  const json& c = j["choices"][0];
  EXPECT_EQ(c["text"], "ab ");
  EXPECT_EQ(c["finish_reason"], "length");
  EXPECT_EQ(c["logprobs"]["tokens"], json({"a", "b", " "}));
  EXPECT_EQ(c["logprobs"]["token_logprobs"], json({nullptr, -1.25, -0.0625}));
  EXPECT_EQ(c["logprobs"]["text_offset"], json({0, 1, 2}));
  EXPECT_TRUE(c["logprobs"]["top_logprobs"][0].is_null());
  EXPECT_EQ(c["logprobs"]["top_logprobs"][1]["b"], -0.5);

  // A BOS the server added is no part of the text; the answer follows the prompt.
  ChoiceAssembler b(ResponseMeta{Endpoint::Completion, "cmpl-4", 0, "m", true, false, {}}, 1, byte_tokenizer());
  b.add_event(event('c', "c", true));
  b.echo_prompt("a", {256, 'a'}, {{}, {-2.0, {}}}, true, true);
  const json jd = b.whole(2);
  const json& d = jd["choices"][0];
  EXPECT_EQ(d["text"], "ac");
  EXPECT_EQ(d["logprobs"]["tokens"], json({"<|endoftext|>", "a", "c"}));
  EXPECT_EQ(d["logprobs"]["text_offset"], json({0, 0, 1}));
  EXPECT_EQ(d["logprobs"]["token_logprobs"], json({nullptr, -2.0, -0.5}));
}

// Tool calls: the whole answer and the streamed chunks carry the same call; content is what is left.
std::vector<SeqEvent> tool_answer() {
  const std::string text = "On it.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
  std::vector<SeqEvent> out;
  for (size_t i = 0; i < text.size(); i += 5) out.push_back(event('x', text.substr(i, 5)));
  out.push_back(event(257, "", true));
  return out;
}

TEST(ChoiceAssembler, ToolCallsWholeAnswer) {
  ChoiceAssembler a(ResponseMeta{Endpoint::Chat, "chatcmpl-t", 0, "m", false, false, ToolCallFormat::Hermes}, 1, byte_tokenizer());
  for (const auto& e : tool_answer()) a.add_event(e);
  json j = a.whole(3);
  const json& c = j["choices"][0];
  EXPECT_EQ(c["finish_reason"], "tool_calls");
  EXPECT_EQ(c["message"]["content"], "On it.");
  ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
  const json& call = c["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["id"].get<std::string>().substr(0, 5), "call_");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()), json::parse(R"({"city": "Paris"})"));
  // Without tools the same text is plain content.
  ChoiceAssembler plain(ResponseMeta{Endpoint::Chat, "chatcmpl-p", 0, "m", false, false, {}}, 1, byte_tokenizer());
  for (const auto& e : tool_answer()) plain.add_event(e);
  EXPECT_EQ(plain.whole(3)["choices"][0]["finish_reason"], "stop");
}

TEST(ChoiceAssembler, ToolCallsStreamed) {
  ChoiceAssembler a(ResponseMeta{Endpoint::Chat, "chatcmpl-t", 0, "m", false, false, ToolCallFormat::Hermes}, 1, byte_tokenizer());
  std::string sse;
  for (const auto& e : tool_answer()) a.stream_event(e, sse);
  std::string content, name, args, id, finish;
  int headers = 0;
  for (size_t at = 0; (at = sse.find("data: ", at)) != std::string::npos;) {
    const size_t end = sse.find("\n\n", at);
    const json chunk = json::parse(sse.substr(at + 6, end - at - 6));
    at = end;
    const json& ch = chunk["choices"][0];
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
    const json& d = ch["delta"];
    if (d.contains("content")) content += d["content"].get<std::string>();
    if (d.contains("tool_calls")) {
      const json& tc = d["tool_calls"][0];
      EXPECT_EQ(tc["index"], 0);
      if (tc.contains("id")) ++headers, id = tc["id"], name = tc["function"]["name"];
      args += tc["function"]["arguments"].get<std::string>();
    }
  }
  EXPECT_EQ(content, "On it.\n");
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(json::parse(args), json::parse(R"({"city": "Paris"})"));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(sse.find("<tool_call>"), std::string::npos);  // the call's text is not streamed as content
}

}  // namespace choice_assembler_test

}  // namespace baimo::serve
