// EvalBackend (eval/backend.h) on a model served over the OpenAI API (`baimo serve` or any server
// with the same endpoints), so that `baimo eval run --api URL` scores it as a local model.
// Contract:
// - url: the API's base, "http(s)://HOST:PORT[/prefix]" (e.g. http://127.0.0.1:8080/v1); requests
//   go to {url}/completions, {url}/chat/completions, {url}/models. model: the "model" field sent;
//   empty: the first id that GET {url}/models lists (checked at construction, which also fails
//   clearly on an unreachable server). api_key: sent as "Authorization: Bearer ..." when not empty.
// - score_mc: one POST /completions per choice: prompt = context + choice, echo true, logprobs 0,
//   max_tokens 0, temperature 0; the choice's log-likelihood is the sum over the echoed tokens that
//   end after the context without its trailing whitespace (eval/api_response.h), so it equals the
//   local scorer's (eval/mc_score.h encode_mc) when the server's tokenizer splits context + choice
//   at the same place -- the usual case, as the context's trailing whitespace starts the choice.
//   Differences: the server encodes the prompt with special-token text as special tokens (the
//   local scorer as plain text), and a context longer than the server's context is its 400 error
//   rather than left-truncated.
// - generate: chat prompts through POST /chat/completions (messages, the server's chat template),
//   raw ones through POST /completions with stop "\n"; max_tokens, temperature, seed (seed + p *
//   samples + i for sample i, as the local backend: requests of up to 16 samples with n), logprobs
//   on to count each answer's tokens. end_of_turn: a chat answer with finish_reason "stop".
// - concurrency: requests in flight at once (each from its own connection); the server batches
//   them. A 429 (server busy) is retried after its Retry-After (1 s), up to 10 minutes.
// - Errors (baimo::Error) name the URL: an unreachable server (the connection error), an HTTP
//   status >= 400 (with the server's error message), a body that is not JSON, a field missing
//   from the answer (its path); the first error stops the other requests.
#pragma once
#include <string>

#include "baimo/eval/backend.h"

namespace baimo::eval {

struct ApiOptions {
  std::string url;
  std::string model;
  std::string api_key;
  int concurrency = 8;
  int timeout_s = 600;  // per request (connect: 10 s)
};

class ApiBackend : public EvalBackend {
 public:
  explicit ApiBackend(ApiOptions options);
  const std::string& model() const { return o_.model; }
  std::vector<McScored> score_mc(std::span<const McItem> items, const DoneFn& progress) override;
  GenOutput generate(std::span<const GenPrompt> prompts, const GenSettings& s, const DoneFn& progress) override;
  bool end_of_turn_known(bool raw) const override { return !raw; }

 private:
  ApiOptions o_;
  std::string origin_;  // scheme://host:port
  std::string prefix_;  // the URL's path, e.g. /v1
};

}  // namespace baimo::eval
