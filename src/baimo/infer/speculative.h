// Speculative decoding: a cheap Drafter proposes k tokens, the target model checks all of them in ONE
// forward pass (a chunk of k+1 tokens with all_logits: the pending token and the drafts, giving the
// target's logits after each of them), and a prefix of the drafts is accepted, plus one token of the
// target's own. generate.h runs the loop (GenerateOptions::drafter); this file holds the rule.
// The rule (Leviathan et al. 2023, Chen et al. 2023), position i = 0..n-1 for drafts x_i:
//   greedy (temperature 0): the target's token t_i = Sequence::accept(row i) (its arg-max after
//     logit bias and penalties, exactly what plain decoding picks); x_i is accepted iff t_i == x_i,
//     else t_i is the correction and the pass ends. Greedy output is therefore the plain output.
//   sampled: p = the target's sampling distribution at row i (Sequence::sampling_distribution:
//     temperature, top-k/p, min-p, penalties over prompt + accepted tokens), q = the distribution the
//     draft drew x_i from (a point mass for deterministic drafts such as n-gram lookup); accept x_i
//     with probability min(1, p(x_i) / q(x_i)); on rejection draw from norm(max(0, p - q)) and end the
//     pass. Every emitted token is then distributed exactly as the target's p.
//   When all n drafts are accepted, row n gives one more token by plain sampling (the "bonus").
//   A constrained sequence (response_format, tool calls, --json-schema) takes drafts too: the target's
//   t_i and p come from the row masked by the grammar state after the tokens accepted before i, so a
//   draft the grammar does not allow is rejected, and the output is what constrained plain decoding
//   gives (greedy: the same bytes).
// The caller rolls the target's KV cache back to the tokens accepted (KvCache::truncate); a
// ModelDrafter re-syncs its own cache with the history at its next propose().
// Checks (baimo::Error): draft_k in [1, kMaxDraftTokens] (k+1 rows stay a decode-size step, so the
// verification pass runs the same per-row kernels as plain decoding: logits identical bit for bit);
// a draft model must share the target's vocabulary size and tokenizer (every id's bytes and the
// special tokens).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "baimo/infer/sampler.h"
#include "baimo/infer/sequence.h"
#include "baimo/model/config.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

constexpr int kMaxDraftTokens = 15;

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Up to k (>= 1) tokens likely to follow history (the prompt and every token accepted so far) into
  // out (cleared; may stay empty). q: left empty (each proposed token is a point mass: a deterministic
  // draft) or (out.size(), V) rows: the distribution each token was drawn from.
  virtual void propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) = 0;
};

void check_draft_k(int k);
void check_draft_compatible(const ModelConfig& target, const Tokenizer& target_tok, const std::string& target_name,
                            const ModelConfig& draft, const Tokenizer& draft_tok, const std::string& draft_name);

// One sampled position: draft token x drawn from q (nullptr: a point mass on x), p the target's
// distribution (both (V)). residual: scratch (V).
struct DraftVerdict {
  int32_t id;     // x when accepted, else the token drawn from the residual
  bool accepted;
};
DraftVerdict verify_draft(std::span<const float> p, int32_t x, const float* q, Sampler& rng, std::vector<float>& residual);

struct AcceptResult {
  int accepted = 0;  // drafts accepted
  int checked = 0;   // drafts compared with the target (fewer than proposed when the sequence ended)
  bool stop = false;  // take() returned false
};
// Feeds one verification pass into seq: logits (drafts.size() + 1, V) rows as above; q empty or
// (drafts.size(), V). take(step) sees every token in order and returns false to end the generation
// (finished, cancelled): no token after it is taken. p, residual: scratch.
AcceptResult accept_drafts(Sequence& seq, std::span<float> logits, std::span<const int32_t> drafts,
                           std::span<const float> q, const std::function<bool(const TokenStep&)>& take,
                           std::vector<float>& p, std::vector<float>& residual);

}  // namespace baimo
