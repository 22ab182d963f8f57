// Sequence: one request's decoding state, independent of where its logits come from (the Engine
// drives the forward passes; generate.h for one sequence, the server's scheduler for many).
// accept(logits) takes the logits row that follows the tokens so far and returns one TokenStep:
// - id: sampled by the Sampler (infer/sampler.h) with penalties over prompt + generated tokens;
//   same seed and same logits => same ids.
// - logprob: log-softmax of the model's raw logits (before bias / penalties / temperature) at id;
//   sample_logprob: id's log-prob under the distribution the sampler drew it from
//   (Sampler::last_logprob: temperature / top-k / top-p / min-p applied; 0 when greedy);
//   entropy: the entropy (nats) of the raw model distribution at this step (the same pass as the
//   log-softmax normaliser);
//   top: the top_logprobs most likely ids with their log-probs (descending), when top_logprobs > 0.
// - text: the text that may be shown now. Bytes of an incomplete UTF-8 character are held back
//   (StreamingDecoder), and so is any tail that could be the start of a stop string, so that a
//   stop string never appears in the concatenated texts: the text ends right before it.
// - finished / finish_reason: "stop" on a stop string or an end-of-sequence id (the tokenizer's
//   eos_id and GenerationOptions::eos_ids, unless ignore_eos; the EOS token's text is not shown),
//   "length" after max_tokens tokens. The last step flushes everything held back (except a stop).
// - constraint (GenerationOptions::constraint, infer/constrained/constraint.h): the sampler sees
//   the logits with every token the grammar does not allow at -inf (end-of-sequence ids and tokens
//   spelling a stop string only once the text so far is complete); the sequence advances its own
//   recognizer with each token's bytes and finishes with "stop" when the text is complete and no
//   character may follow. logprob / entropy / top stay those of the raw model distribution.
// Ids past the tokenizer's last (the padded rows of a model whose vocab_size exceeds its tokenizer's)
// are never drawn; logprob / top still read the raw row.
// accept() after finished throws baimo::Error; so does a logits row of the wrong size.
// Speculative decoding (speculative.h) picks some ids itself: accept_token(logits, id, sample_logprob)
// records a chosen id exactly as accept() records a sampled one (logprob, entropy, top, text, stops,
// max_tokens); sampling_distribution() gives the (V) probabilities accept() would draw from now
// (Sampler::distribution with prompt + generated as the history, the grammar's mask applied when
// constrained); sampler() lends the RNG.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "baimo/infer/constrained/constraint.h"
#include "baimo/infer/sampler.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct GenerationOptions {
  SamplingParams sampling;
  int max_tokens = 256;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int top_logprobs = -1;         // -1 off, 0 = chosen token only, k = k alternatives
  std::vector<int32_t> eos_ids;  // more end-of-sequence ids (e.g. config.json eos_token_id)
  // BatchScheduler only: report the prompt tokens' log-probs (RequestChannel::prompt_logprobs, with
  // top_logprobs alternatives); max_tokens may then be 0 (score the prompt, generate nothing).
  bool prompt_logprobs = false;
  // Constrained decoding (JSON schema / grammar); null = free text.
  std::shared_ptr<const constrained::Constraint> constraint;
};

struct TokenStep {
  int32_t id = -1;
  std::string text;  // safe-to-emit text delta, may be empty
  float logprob = 0;
  float sample_logprob = 0;
  float entropy = 0;
  std::vector<std::pair<int32_t, float>> top;
  bool finished = false;
  std::string finish_reason;  // "stop" | "length" when finished
};

class Sequence {
 public:
  Sequence(const Tokenizer& tokenizer, std::vector<int32_t> prompt, GenerationOptions options);

  // logits: (V) floats for the next position; not modified.
  TokenStep accept(std::span<float> logits);

  TokenStep accept_token(std::span<const float> logits, int32_t id, float sample_logprob);
  void sampling_distribution(std::span<const float> logits, std::vector<float>& probs);
  Sampler& sampler() { return sampler_; }

  // Ends the sequence from outside (context full): returns the text still held back.
  std::string flush(const char* reason = "length");
  const std::string& finish_reason() const { return finish_reason_; }

  const std::vector<int32_t>& tokens() const { return tokens_; }  // prompt + generated
  size_t prompt_size() const { return prompt_size_; }
  int generated() const { return generated_; }
  bool finished() const { return finished_; }
  const GenerationOptions& options() const { return options_; }

 private:
  bool is_eos(int32_t id) const;
  size_t stop_holdback() const;  // longest tail of pending_ that starts some stop string
  TokenStep finish(TokenStep step, const char* reason, size_t keep);
  // Rows past the tokenizer's ids (a model's padded vocabulary, e.g. Qwen2.5's 151,936 rows for
  // 151,665 tokens) to -inf: they have no text, so they are never drawn.
  void mask_padded_ids(std::vector<float>& row) const;
  // Constrained: the logits with what the grammar does not allow now at -inf (in masked_).
  std::span<float> constrained_row(std::span<const float> logits);
  // The rest of accept() once the id is chosen; lse: the raw logits' log-sum-exp or NaN (computed).
  TokenStep record(std::span<const float> logits, int32_t id, float sample_logprob, float lse);

  const Tokenizer* tok_;
  GenerationOptions options_;
  std::vector<int32_t> tokens_;
  size_t prompt_size_;
  Sampler sampler_;
  StreamingDecoder decoder_;
  std::string pending_;  // decoded, not yet emitted (a possible stop-string start)
  std::vector<float> work_;                            // (V) logits the sampler may modify
  std::vector<float> masked_;                          // (V) constrained: the masked logits
  std::vector<std::pair<float, int32_t>> candidates_;  // top-logprob selection
  int generated_ = 0;
  bool finished_ = false;
  std::string finish_reason_;
  std::optional<constrained::ConstraintState> cstate_;
  std::vector<int32_t> end_ids_;  // constrained: ids that end the text (EOS, stop-string tokens)
};

}  // namespace baimo
