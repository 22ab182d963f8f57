// NgramDrafter: prompt lookup decoding (no draft model). The last n tokens of the history (prompt +
// accepted tokens), n = max_ngram down to 1, are looked up earlier in the history; at the most recent
// earlier occurrence, the up to k tokens that followed it are the proposal. Deterministic (q empty:
// point masses, speculative.h). Pays off when the answer copies from its context (summaries,
// rewrites, code edits, repetition).
// max_ngram >= 1 (baimo::Error otherwise). No match: an empty proposal (the step decodes one token).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "baimo/infer/speculative.h"

namespace baimo {

class NgramDrafter : public Drafter {
 public:
  explicit NgramDrafter(int max_ngram);
  void propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) override;
  int max_ngram() const { return n_; }

 private:
  int n_;
};

}  // namespace baimo
