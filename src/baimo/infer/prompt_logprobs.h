// Log-probabilities of a prompt's own tokens (OpenAI completions' echo + logprobs), from the logits
// rows a prefill produces with Engine::Chunk::all_logits.
// Contract: token_logprob(row, id, top) = log softmax(row)[id] in float64 -- the same formula,
// operation for operation, as the multiple-choice scorer (eval/mc_score.h), so a prompt scored
// by the server sums to the same log-likelihood as one scored locally from the same logits -- and,
// when top > 0, the `top` most likely ids with their log-probs (descending, lower id first on
// ties), as Sequence::accept reports a generated token's alternatives. An id outside the row is a
// baimo::Error.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace baimo {

struct PromptLogprob {
  double logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

PromptLogprob token_logprob(std::span<const float> row, int32_t id, int top);

}  // namespace baimo
