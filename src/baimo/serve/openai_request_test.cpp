#include "baimo/serve/openai_request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "baimo/serve/api_error.h"
#include "baimo/serve/metrics.h"
#include "baimo/serve/openai_response.h"

namespace baimo::serve {
namespace openai_request_test {

// The error a body provokes: status, param and a piece of the message.
ApiError error_of(const std::string& body, Endpoint e = Endpoint::Chat) {
  try {
    parse_completion_request(body, e);
  } catch (const ApiError& err) {
    return err;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "", "");
}

void expect_error(const std::string& body, const std::string& param, const std::string& needle,
                  Endpoint e = Endpoint::Chat) {
  ApiError err = error_of(body, e);
  EXPECT_EQ(err.status, 400) << body;
  EXPECT_EQ(err.param, param) << body << " -> " << err.what();
  EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
}

TEST(OpenAIRequest, ChatEveryField) {
  auto r = parse_completion_request(R"({
    "model": "m", "messages": [{"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "你好"}, {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": "hi"}, {"role": "developer", "content": "d"}],
    "max_completion_tokens": 7, "temperature": 0.5, "top_p": 0.9, "stop": ["\n", "END"], "n": 3, "seed": 42,
    "presence_penalty": 0.5, "frequency_penalty": -1, "logit_bias": {"17": -100, "3": 2.5},
    "logprobs": true, "top_logprobs": 4, "user": "u1", "stream": true, "stream_options": {"include_usage": true},
    "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "tools": null})",
                                    Endpoint::Chat);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1].content, "你好\nthere");
  EXPECT_EQ(r.messages[3].role, "system");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.seed, 42u);
  EXPECT_FLOAT_EQ(r.frequency_penalty, -1.0f);
  EXPECT_FLOAT_EQ(r.logit_bias.at(17), -100.0f);
  EXPECT_FLOAT_EQ(r.logit_bias.at(3), 2.5f);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 4);
  EXPECT_EQ(r.user, "u1");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.top_k, 40);
}

TEST(OpenAIRequest, CompletionForms) {
  auto r = parse_completion_request(R"({"model": "m", "prompt": "Once", "logprobs": 2, "echo": false, "best_of": 1})",
                                    Endpoint::Completion);
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_FALSE(r.max_tokens);
  r = parse_completion_request(R"({"model": "m", "prompt": [[5, 6, 7]], "stop": "x"})", Endpoint::Completion);
  EXPECT_EQ(*r.prompt_tokens, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  r = parse_completion_request(R"({"model": "m", "prompt": ["one"], "max_tokens": 3})", Endpoint::Completion);
  EXPECT_EQ(r.prompt, "one");
  EXPECT_EQ(r.max_tokens, 3);
  EXPECT_FALSE(r.echo);
  r = parse_completion_request(R"({"model": "m", "prompt": "a b", "echo": true, "logprobs": 0, "max_tokens": 0})",
                               Endpoint::Completion);
  EXPECT_TRUE(r.echo);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.max_tokens, 0);
}

// What common OpenAI clients send and baimo can honour or safely ignore (issue 11).
TEST(OpenAIRequest, AcceptsWhatClientsSendThatChangesNothing) {
  auto r = parse_completion_request(R"({"model": "m", "messages": [{"role": "user", "content": "x", "name": "bob"}],
    "response_format": {"type": "text"}, "store": false, "metadata": {"app": "test"}, "parallel_tool_calls": false,
    "temperature": 0.8, "top_p": 0})", Endpoint::Chat);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].content, "x");
  // top_p 0: greedy.
  EXPECT_FLOAT_EQ(r.temperature, 0.0f);
  EXPECT_FLOAT_EQ(r.top_p, 1.0f);
}

TEST(OpenAIRequest, ErrorsNameTheField) {
  expect_error("{", "", "not valid JSON");
  expect_error("[1]", "", "must be a JSON object");
  expect_error(R"({"messages": [{"role": "user", "content": "x"}]})", "model", "Missing required parameter");
  expect_error(R"({"model": "m"})", "messages", "Missing required parameter");
  expect_error(R"({"model": "m", "messages": []})", "messages", "at least one");
  expect_error(R"({"model": "m", "messages": [{"role": "robot", "content": "x"}]})", "messages[0].role", "robot");
  expect_error(R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})", "messages[0].tool_call_id", "Missing");
  expect_error(R"({"model": "m", "messages": [{"role": "user", "content": "x", "name": 7}]})", "messages[0].name",
               "expected a string");
  expect_error(R"({"model": "m", "messages": [{"role": "user", "content": "x", "tool_call_id": "t"}]})",
               "messages[0].tool_call_id", "Only tool messages");
  expect_error(R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
               "messages[0].content[0].image_url", "Unrecognized");
  expect_error(R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
               "messages[0].content[0].type", "image_url");
  expect_error(R"({"model": "m", "messages": [{"role": "user"}]})", "messages[0].content", "Missing");
  const std::string base = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )";
  expect_error(base + R"("temperature": "hot"})", "temperature", "expected a number, but got a string");
  expect_error(base + R"("temperature": 2.5})", "temperature", "greater than the maximum");
  expect_error(base + R"("top_p": -0.1})", "top_p", "less than the minimum");
  expect_error(base + R"("n": 0})", "n", "less than the minimum");
  expect_error(base + R"("n": 1.5})", "n", "expected an integer");
  expect_error(base + R"("max_tokens": 0})", "max_tokens", "less than the minimum");
  expect_error(base + R"("max_tokens": 3, "max_completion_tokens": 4})", "max_tokens", "disagree");
  expect_error(base + R"("presence_penalty": -3})", "presence_penalty", "less than the minimum");
  expect_error(base + R"("stop": ["a", "b", "c", "d", "e"]})", "stop", "at most 4");
  expect_error(base + R"("stop": [""]})", "stop", "must not be empty");
  expect_error(base + R"("stop": 3})", "stop", "a string or an array");
  expect_error(base + R"("logit_bias": {"abc": 1}})", "logit_bias", "not a token id");
  expect_error(base + R"("logit_bias": {"5": 101}})", "logit_bias.5", "greater than the maximum");
  expect_error(base + R"("top_logprobs": 3})", "top_logprobs", "requires 'logprobs'");
  expect_error(base + R"("logprobs": true, "top_logprobs": 21})", "top_logprobs", "maximum");
  expect_error(base + R"("stream_options": {"include_usage": true}})", "stream_options", "only allowed when");
  expect_error(base + R"("stream": true, "stream_options": {"foo": 1}})", "stream_options.foo", "Unrecognized");
  expect_error(base + R"("stream": "yes"})", "stream", "expected a boolean");
  expect_error(base + R"("tools": []})", "tools", "at least one tool");
  expect_error(base + R"("response_format": {"type": "xml"}})", "response_format.type", "Supported values");
  expect_error(base + R"("response_format": {"type": "json_schema"}})", "response_format.json_schema", "Missing");
  expect_error(base + R"("response_format": {"type": "json_schema", "json_schema": {"schema": {}}}})",
               "response_format.json_schema.name", "Missing");
  expect_error(base + R"("response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}})",
               "response_format.json_schema.name", "must be");
  {  // the schema keeps the body's key order
    auto r = parse_completion_request(base + R"("response_format": {"type": "json_schema", "json_schema": {"name": "x",
      "schema": {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "integer"}}}}}})", Endpoint::Chat);
    EXPECT_EQ(r.response_format, ResponseFormat::JsonSchema);
    EXPECT_LT(r.json_schema.find("\"z\""), r.json_schema.find("\"a\""));
    EXPECT_EQ(parse_completion_request(base + R"("response_format": {"type": "json_object"}})", Endpoint::Chat).response_format,
              ResponseFormat::JsonObject);
  }
  expect_error(base + R"("response_format": "text"})", "response_format", "expected an object");
  expect_error(base + R"("tool_choice": "auto", "parallel_tool_calls": true, "tools": [{"type": "function"}]})",
               "tools[0].function", "Missing");
  expect_error(base + R"("store": "yes"})", "store", "expected a boolean");
  expect_error(base + R"("metadata": {"k": 1}})", "metadata.k", "expected a string");
  expect_error(base + R"("frobnicate": 1})", "frobnicate", "Unrecognized request argument supplied: frobnicate");
  expect_error(base + R"("seed": "x"})", "seed", "expected an integer");
  expect_error(base + R"("temperature": 1e999})", "", "not valid JSON");
  expect_error(R"({"model": "m", "prompt": "x", "echo": true, "stream": true})", "echo", "not supported", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": "x", "max_tokens": 0})", "max_tokens", "only allowed with 'echo'", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": "x", "echo": 1})", "echo", "expected a boolean", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": "x", "logprobs": 6})", "logprobs", "maximum", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": ["a", "b"]})", "prompt", "one prompt per request", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": [1, -2]})", "prompt[1]", "minimum", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": {}})", "prompt", "expected a string", Endpoint::Completion);
  expect_error(R"({"model": "m", "messages": []})", "messages", "Unrecognized", Endpoint::Completion);
  expect_error(R"({"model": "m", "prompt": "x"})", "prompt", "Unrecognized", Endpoint::Chat);
}

TEST(OpenAIRequest, Tools) {
  const std::string base = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )";
  const std::string tool = R"({"type": "function", "function": {"name": "get_weather", "description": "d",
    "parameters": {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "integer"}}}}})";
  auto r = parse_completion_request(base + R"("tools": [)" + tool + "]}", Endpoint::Chat);
  EXPECT_EQ(r.tool_choice, ToolChoice::Auto);  // the default with tools
  EXPECT_LT(r.tools.find("\"z\""), r.tools.find("\"a\""));  // the body's key order
  r = parse_completion_request(base + R"("tools": [)" + tool + R"(], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false})",
                               Endpoint::Chat);
  EXPECT_EQ(r.tool_choice, ToolChoice::Named);
  EXPECT_EQ(r.tool_choice_name, "get_weather");
  EXPECT_FALSE(r.parallel_tool_calls);
  EXPECT_EQ(parse_completion_request(base + R"("tools": [)" + tool + R"(], "tool_choice": "required"})", Endpoint::Chat).tool_choice,
            ToolChoice::Required);
  EXPECT_EQ(parse_completion_request(base + R"("tools": [)" + tool + R"(], "tool_choice": "none"})", Endpoint::Chat).tool_choice,
            ToolChoice::None);
  // A tool round trip's messages: the assistant's call (content null), the tool's result.
  r = parse_completion_request(R"({"model": "m", "messages": [{"role": "user", "content": "weather?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "20 C"}]})", Endpoint::Chat);
  ASSERT_EQ(r.messages.size(), 3u);
  ASSERT_EQ(r.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(r.messages[1].tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.messages[1].tool_calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(r.messages[2].tool_call_id, "call_1");
  EXPECT_EQ(r.tool_choice, ToolChoice::None);  // no tools given

  expect_error(base + R"("tool_choice": "auto"})", "tool_choice", "only allowed when 'tools'");
  expect_error(base + R"("tools": [)" + tool + R"(], "tool_choice": "sometimes"})", "tool_choice", "Supported values");
  expect_error(base + R"("tools": [)" + tool + R"(], "tool_choice": {"type": "function", "function": {"name": "other"}}})",
               "tool_choice.function.name", "not in 'tools'");
  expect_error(base + R"("tools": [)" + tool + "," + tool + "]}", "tools[1].function.name", "Two tools");
  expect_error(base + R"("tools": [{"type": "function", "function": {"name": "a b"}}]})", "tools[0].function.name", "Invalid function name");
  expect_error(base + R"("tools": [{"type": "retrieval"}]})", "tools[0].type", "only 'function'");
  expect_error(base + R"("tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]})",
               "tools[0].function.parameters", "expected an object");
  expect_error(base + R"("tools": [)" + tool + R"(], "tool_choice": "required", "response_format": {"type": "json_object"}})",
               "response_format", "cannot be combined");
  const std::string call = R"({"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}})";
  expect_error(R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [)" + call + "]}]}",
               "messages[0].tool_calls[0].function.arguments", "JSON text of an object");
  expect_error(R"({"model": "m", "messages": [{"role": "user", "content": "x", "tool_calls": []}]})", "messages[0].tool_calls",
               "Only assistant");
  expect_error(R"({"model": "m", "messages": [{"role": "assistant", "content": null}]})", "messages[0].content", "Missing");
  // Reward requests take no tool messages.
  try {
    parse_reward_request(R"({"messages": [{"role": "tool", "tool_call_id": "c", "content": "x"}]})");
    ADD_FAILURE() << "a reward request took a tool message";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.param, "messages[0].tool_call_id");
  }
}

TEST(OpenAIResponse, ShapesMatchOpenAI) {
  ResponseMeta m{Endpoint::Chat, "chatcmpl-1", 100, "tiny", true, true, {}};
  std::vector<TokenLogprob> lps = {{"Hi", -0.5f, {{"Hi", -0.5f}, {"Ho", -1.5f}}}};
  auto first = chunk_json(m, 0, true, "", "", {}, 0);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["usage"].is_null());
  auto mid = chunk_json(m, 1, false, "Hi", "", lps, 0);
  EXPECT_FALSE(mid["choices"][0]["delta"].contains("role"));
  EXPECT_EQ(mid["choices"][0]["index"], 1);
  EXPECT_EQ(mid["choices"][0]["logprobs"]["content"][0]["top_logprobs"][1]["token"], "Ho");
  auto last = chunk_json(m, 0, false, "", "length", {}, 0);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  auto usage = usage_chunk_json(m, {5, 2});
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
  auto whole = completion_json(m, {{0, "Hi", "stop", lps}}, {5, 1});
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(whole["choices"][0]["message"]["content"], "Hi");
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "stop");
  m.endpoint = Endpoint::Completion;
  auto text = completion_json(m, {{0, "Hi!", "length", {{"Hi", -0.5f, {}}, {"!", -0.1f, {}}}}}, {5, 2});
  EXPECT_EQ(text["object"], "text_completion");
  EXPECT_EQ(text["choices"][0]["logprobs"]["text_offset"][1], 2);
  // Half a UTF-8 character in a token string is replaced, not thrown.
  std::string half = "\xe4\xbd";
  EXPECT_NO_THROW(dump_json(logprobs_json(Endpoint::Chat, {{half, -1.0f, {{half, -1.0f}}}}, 0)));
  EXPECT_NO_THROW(dump_json(logprobs_json(Endpoint::Completion, {{half, -1.0f, {{half, -1.0f}}}}, 0)));
}

TEST(OpenAIResponse, ErrorShape) {
  ApiError e(429, "queue full", "rate_limit_error", "", "queue_full");
  auto j = error_json(e);
  EXPECT_EQ(j["error"]["message"], "queue full");
  EXPECT_EQ(j["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "queue_full");
}

TEST(ServerMetrics, PrometheusText) {
  ServerMetrics m;
  m.count_request("/v1/chat/completions", 200);
  m.count_request("/v1/chat/completions", 200);
  m.add_tokens(10, 4);
  m.observe_ttft(0.02);
  m.observe_ttft(100);
  m.observe_inter_token(0.004);
  std::string t = m.prometheus_text(3, 2, 4);
  EXPECT_NE(t.find("baimo_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"} 2"), std::string::npos);
  EXPECT_NE(t.find("baimo_completion_tokens_total 4"), std::string::npos);
  EXPECT_NE(t.find("baimo_queue_length 3"), std::string::npos);
  EXPECT_NE(t.find("baimo_active_slots 2"), std::string::npos);
  EXPECT_NE(t.find("baimo_time_to_first_token_seconds_bucket{le=\"0.025\"} 1"), std::string::npos);
  EXPECT_NE(t.find("baimo_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(t.find("baimo_inter_token_seconds_count 1"), std::string::npos);
}

}  // namespace openai_request_test

}  // namespace baimo::serve
