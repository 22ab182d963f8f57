// Reading OpenAI API answers for evaluation (eval/api_backend.h); pure functions, no I/O.
// Every error is a baimo::Error that names `where` (the endpoint's URL) and the missing or malformed
// field by its path, e.g. "http://127.0.0.1:8080/v1/completions: the response has no
// choices[0].logprobs.text_offset (a list of integers)".
// - continuation_loglik: a /v1/completions answer to prompt = context + continuation with echo,
//   logprobs and max_tokens 0 (legacy completions' shape: choices[0].logprobs.tokens,
//   token_logprobs (the first null), text_offset). The continuation's tokens are those that end
//   after the first `context_bytes` bytes of the prompt (a token's end: the next token's
//   text_offset, the last one's `prompt_bytes`), so a token that straddles the boundary counts for
//   the continuation; their log-probs are summed. No such token, or a null log-prob among them (the
//   continuation starts the prompt: nothing before it to predict from), is an error.
// - generation_samples: a /v1/chat/completions (chat) or /v1/completions answer with n choices,
//   in "index" order: the text (message.content / text), stopped = finish_reason "stop", and the
//   token count: the entries of its logprobs (content / tokens) when present, else
//   usage.completion_tokens / n.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace baimo::eval {

double continuation_loglik(const nlohmann::json& response, size_t context_bytes, size_t prompt_bytes,
                           const std::string& where);

struct ApiSample {
  std::string text;
  bool stopped = false;
  int64_t tokens = 0;
};

std::vector<ApiSample> generation_samples(const nlohmann::json& response, bool chat, int n, const std::string& where);

}  // namespace baimo::eval
