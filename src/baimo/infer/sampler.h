// Sampler: picks the next token from one row of logits.
// Order of operations (as in llama.cpp / OpenAI semantics): logit_bias, then repetition /
// presence / frequency penalties over the tokens seen so far, then greedy (temperature == 0) or
// temperature -> top-k -> top-p -> min-p -> draw. The RNG is owned per sequence and seeded, so the
// same seed and the same logits give the same tokens.
// last_logprob(): the log-prob of the token sample() last returned under the distribution it was
// drawn from (bias, penalties, temperature, top-k, top-p, min-p applied; renormalised over the kept
// tokens): log p = l/T - log sum_kept exp(l'/T). 0 when greedy (temperature 0: a point mass).
// distribution(): the probabilities sample() draws from for the same logits and history, as a dense
// (V) row (zeros outside top-k / top-p / min-p; a point mass on the arg-max when greedy): what
// speculative decoding (speculative.h) compares a draft's distribution with. draw() picks an index
// in proportion to non-negative weights (their sum > 0, else baimo::Error) and uniform() gives a
// number in [0, 1), both from the sampler's own RNG.
// logits: (V) floats, modified in place by the penalties.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace baimo {

struct SamplingParams {
  float temperature = 1.0f;       // 0 = greedy
  int top_k = 0;                  // 0 = off
  float top_p = 1.0f;             // 1 = off
  float min_p = 0.0f;             // 0 = off; keep tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1 = off; CTRL-style: logit>0 ? logit/r : logit*r
  float presence_penalty = 0.0f;    // OpenAI: -= presence * (count > 0)
  float frequency_penalty = 0.0f;   // OpenAI: -= frequency * count
  std::unordered_map<int32_t, float> logit_bias;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  // history: tokens the penalties look at (prompt + generated, as the caller chooses).
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);
  // probs (resized to V) sums to 1; logits modified as by sample().
  void distribution(std::span<float> logits, std::span<const int32_t> history, std::vector<float>& probs);
  int32_t draw(std::span<const float> weights);
  double uniform();
  const SamplingParams& params() const { return params_; }
  float last_logprob() const { return last_logprob_; }
  // Whether sample() over `vocab` logits is a plain draw at a temperature > 0 over the whole
  // vocabulary (no bias, penalties, top-k < vocab, top-p or min-p): then it leaves logits unchanged,
  // runs in vectorised passes (softmax_row.h) and, at temperature 1, keeps the normaliser of the
  // raw logits, log sum_i exp(logits[i]), for last_raw_lse().
  bool plain(size_t vocab) const;
  // After a plain sample() at temperature 1: the raw logits' log-sum-exp; NaN otherwise.
  float last_raw_lse() const { return last_raw_lse_; }

 private:
  int32_t sample_plain(std::span<const float> logits);
  // logit_bias, then the penalties over history, in place.
  void adjust(std::span<float> logits, std::span<const int32_t> history);
  // Temperature > 0, after adjust(): candidates_[0, keep) are the tokens top-k / top-p / min-p keep,
  // weighted exp(l / T - scaled_max_); returns keep.
  size_t keep_candidates(std::span<const float> logits);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused across calls
  std::unordered_map<int32_t, int> counts_;            // reused across calls
  float last_logprob_ = 0;
  float last_raw_lse_ = 0;
  float scaled_max_ = 0;
  std::vector<float> weights_;   // plain draws: exp(l / T - max), reused
  std::vector<double> blocks_;   // and their sums per softmax::kBlock
};

// Log-softmax of one logits row into out (same length); used for per-token log-probs.
void log_softmax_row(std::span<const float> logits, std::span<float> out);

}  // namespace baimo
