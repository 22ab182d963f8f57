#include "baimo/eval/api_response.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"
#include "baimo/util/error_of.h"

namespace baimo::eval {
namespace api_response_test {
using json = nlohmann::json;
const std::string kUrl = "http://h:1/v1/completions";

// "Answer:" + " 42": tokens "Answer", ":", " 4", "2".
json echo_answer() {
  return json::parse(R"({"choices": [{"index": 0, "text": "Answer: 42", "finish_reason": "length",
    "logprobs": {"tokens": ["Answer", ":", " 4", "2"], "token_logprobs": [null, -0.5, -1.25, -2.0],
                 "top_logprobs": [null, {}, {}, {}], "text_offset": [0, 6, 7, 9]}}]})");
}

TEST(ApiResponse, ContinuationSumsTheTokensAfterTheContext) {
  EXPECT_DOUBLE_EQ(continuation_loglik(echo_answer(), 7, 10, kUrl), -3.25);
  EXPECT_DOUBLE_EQ(continuation_loglik(echo_answer(), 9, 10, kUrl), -2.0);
  // A token straddling the boundary ("Answer: 4" with the context "Answer: ") counts for the continuation.
  EXPECT_DOUBLE_EQ(continuation_loglik(echo_answer(), 8, 10, kUrl), -3.25);
  // A BOS outside the text (offset 0 twice) is never part of the continuation.
  json bos = json::parse(R"({"choices": [{"logprobs": {"tokens": ["<s>", "a", "b"], "token_logprobs": [null, -1.0, -0.5],
    "text_offset": [0, 0, 1]}}]})");
  EXPECT_DOUBLE_EQ(continuation_loglik(bos, 0, 2, kUrl), -1.5);
}

TEST(ApiResponse, ContinuationErrorsNameTheUrlAndTheField) {
  EXPECT_NE(error_of([] { continuation_loglik(echo_answer(), 0, 10, kUrl); }).find("token_logprobs[0] is null"),
            std::string::npos);
  EXPECT_NE(error_of([] { continuation_loglik(echo_answer(), 10, 10, kUrl); }).find("no token"), std::string::npos);
  json no_lp = echo_answer();
  no_lp["choices"][0]["logprobs"] = nullptr;
  std::string e = error_of([&] { continuation_loglik(no_lp, 7, 10, kUrl); });
  EXPECT_NE(e.find(kUrl), std::string::npos) << e;
  EXPECT_NE(e.find("choices[0].logprobs"), std::string::npos) << e;
  json no_off = echo_answer();
  no_off["choices"][0]["logprobs"].erase("text_offset");
  EXPECT_NE(error_of([&] { continuation_loglik(no_off, 7, 10, kUrl); }).find("choices[0].logprobs.text_offset"),
            std::string::npos);
  json short_lps = echo_answer();
  short_lps["choices"][0]["logprobs"]["token_logprobs"].erase(0);
  EXPECT_NE(error_of([&] { continuation_loglik(short_lps, 7, 10, kUrl); }).find("must agree"), std::string::npos);
  EXPECT_NE(error_of([] { continuation_loglik(json::object(), 7, 10, kUrl); }).find("no choices"), std::string::npos);
  json bad_lp = echo_answer();
  bad_lp["choices"][0]["logprobs"]["token_logprobs"][2] = "x";
  EXPECT_NE(error_of([&] { continuation_loglik(bad_lp, 7, 10, kUrl); }).find("token_logprobs[2]"), std::string::npos);
}

TEST(ApiResponse, GenerationSamplesInIndexOrder) {
  json chat = json::parse(R"({"choices": [
    {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "length",
     "logprobs": {"content": [{"token": "b"}, {"token": "c"}]}},
    {"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop",
     "logprobs": {"content": [{"token": "4"}, {"token": "2"}, {"token": "<|im_end|>"}]}}],
    "usage": {"completion_tokens": 5}})");
  auto s = generation_samples(chat, true, 2, kUrl);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].text, "42");
  EXPECT_TRUE(s[0].stopped);
  EXPECT_EQ(s[0].tokens, 3);
  EXPECT_EQ(s[1].text, "b");
  EXPECT_FALSE(s[1].stopped);
  EXPECT_EQ(s[1].tokens, 2);
  // Completions without log-probs: the usage's tokens, shared.
  json text = json::parse(R"({"choices": [{"index": 0, "text": " 7", "finish_reason": "stop", "logprobs": null}],
    "usage": {"completion_tokens": 3}})");
  s = generation_samples(text, false, 1, kUrl);
  EXPECT_EQ(s[0].text, " 7");
  EXPECT_EQ(s[0].tokens, 3);
}

TEST(ApiResponse, GenerationErrorsNameTheField) {
  json chat = json::parse(R"({"choices": [{"index": 0, "message": {"role": "assistant"}, "finish_reason": "stop"}]})");
  EXPECT_NE(error_of([&] { generation_samples(chat, true, 1, kUrl); }).find("choices[0].message.content"),
            std::string::npos);
  json no_reason = json::parse(R"({"choices": [{"index": 0, "text": "x"}], "usage": {"completion_tokens": 1}})");
  EXPECT_NE(error_of([&] { generation_samples(no_reason, false, 1, kUrl); }).find("choices[0].finish_reason"),
            std::string::npos);
  json no_count = json::parse(R"({"choices": [{"index": 0, "text": "x", "finish_reason": "stop"}]})");
  EXPECT_NE(error_of([&] { generation_samples(no_count, false, 1, kUrl); }).find("usage.completion_tokens"),
            std::string::npos);
  json few = json::parse(R"({"choices": [{"index": 0, "text": "x", "finish_reason": "stop"}]})");
  EXPECT_NE(error_of([&] { generation_samples(few, false, 2, kUrl); }).find("2 were asked"), std::string::npos);
  json twice = json::parse(R"({"choices": [{"index": 0, "text": "x", "finish_reason": "stop"},
    {"index": 0, "text": "y", "finish_reason": "stop"}], "usage": {"completion_tokens": 2}})");
  EXPECT_NE(error_of([&] { generation_samples(twice, false, 2, kUrl); }).find("two choices"), std::string::npos);
}

}  // namespace api_response_test

}  // namespace baimo::eval
