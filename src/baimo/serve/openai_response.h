// OpenAI response bodies: chat.completion, chat.completion.chunk, text_completion (whole and
// streamed), the usage object, log-probs in both endpoints' shapes, and the model list.
// Contract: pure builders, no I/O. Chat chunks carry the role only in a choice's first delta; a
// choice's last chunk carries finish_reason ("stop" | "length"); when include_usage is on every
// chunk has "usage": null and the final usage chunk has empty choices (as OpenAI does).
// Tool calls: a chat choice with calls has message.tool_calls ([{"id", "type": "function",
// "function": {"name", "arguments"}}]) and content null when it wrote no other text; streamed, each
// call is two chunks: delta.tool_calls [{"index", "id", "type", "function": {"name", "arguments": ""}}]
// then [{"index", "function": {"arguments"}}] (what the official clients assemble).
// Completions with echo: the choice's text and log-probs start with the prompt's (ChoiceAssembler).
// Serialise with dump_json (api_error.h): token strings may hold half a UTF-8 character.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/serve/openai_request.h"
#include "baimo/serve/tool_calls.h"

namespace baimo::serve {

struct TokenLogprob {
  std::string token;  // the token's bytes (a special token's text)
  double logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // alternatives, best first
  bool in_text = true;  // false for special tokens: not part of the answer's text (text_offset)
  bool null_logprob = false;  // an echoed prompt's first token: nothing before it (JSON null)
};

struct ToolCallResult {
  std::string id, name, arguments;
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  std::string finish_reason;  // stop | length | tool_calls
  std::vector<TokenLogprob> logprobs;
  std::vector<ToolCallResult> tool_calls{};
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct ResponseMeta {
  Endpoint endpoint = Endpoint::Chat;
  std::string id;     // chatcmpl-... / cmpl-...
  int64_t created = 0;  // unix seconds
  std::string model;
  bool logprobs = false;  // the request asked for log-probs
  bool include_usage = false;
  std::optional<ToolCallFormat> tool_calls{};  // chat with tools: parse the answers for calls
};

nlohmann::json usage_json(const Usage& u);
// Log-probs of a run of tokens; text_offset_start: offset of the first token in the choice's text.
nlohmann::json logprobs_json(Endpoint e, const std::vector<TokenLogprob>& lps, size_t text_offset_start);

// Non-streaming answer.
nlohmann::json completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u);

// One streamed chunk for choice `index`: `role` only in the first (chat), `text` the delta,
// `finish_reason` empty until the last, `lps` the tokens of this delta when log-probs are on.
nlohmann::json chunk_json(const ResponseMeta& m, int index, bool first, const std::string& text,
                          const std::string& finish_reason, const std::vector<TokenLogprob>& lps,
                          size_t text_offset_start);
// The two chunks of a streamed tool call (header: id, type, name and "" arguments; else the arguments).
nlohmann::json tool_call_chunk_json(const ResponseMeta& m, int index, int call_index, const ToolCallResult& call,
                                    bool header);
// The final usage chunk (stream_options.include_usage).
nlohmann::json usage_chunk_json(const ResponseMeta& m, const Usage& u);

nlohmann::json models_json(const std::string& model_id, int64_t created);

}  // namespace baimo::serve
