#include "baimo/infer/ngram_draft.h"

#include <algorithm>

#include "baimo/util/error.h"

namespace baimo {

NgramDrafter::NgramDrafter(int max_ngram) : n_(max_ngram) {
  if (max_ngram < 1) fail("--draft-ngram must be at least 1 (the n-gram length looked up), got {}", max_ngram);
}

void NgramDrafter::propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) {
  out.clear();
  q.clear();
  const int64_t L = static_cast<int64_t>(history.size());
  if (k < 1) return;
  for (int64_t n = std::min<int64_t>(n_, L - 1); n >= 1; --n) {
    const int32_t* tail = history.data() + (L - n);
    // Most recent earlier start i (i + n <= L - 1: at least one token follows the occurrence).
    for (int64_t i = L - n - 1; i >= 0; --i) {
      if (history[static_cast<size_t>(i)] != tail[0] || !std::equal(tail, tail + n, history.data() + i)) continue;
      const int64_t from = i + n, to = std::min(L, from + k);
      out.assign(history.begin() + from, history.begin() + to);
      return;
    }
  }
}

}  // namespace baimo
