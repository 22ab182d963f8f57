// Perplexity of a model on a token sequence with a sliding window (as Hugging Face's guide does):
// windows of `ctx` tokens start every `stride` tokens; each window scores only the tokens the
// previous one did not, each predicted from the tokens before it within its window. A window's
// first token has no context in it, so with stride == ctx (no overlap) the first token of every
// window is not scored; with stride < ctx every token but the first is scored exactly once:
//   nll = -mean over scored i of log p(t_i | window context),  perplexity = exp(nll).
// Runs on one Engine slot (ctx <= engine.ctx()), forwarding windows in chunks of at most `chunk`
// tokens with all logits. Needs at least 2 tokens, 1 <= stride <= ctx; baimo::Error otherwise.
#pragma once
#include <cstdint>
#include <functional>
#include <span>

#include "baimo/infer/engine.h"

namespace baimo {

struct PerplexityResult {
  int64_t tokens = 0;  // tokens in the input
  int64_t scored = 0;  // tokens predicted (tokens - 1)
  int64_t windows = 0;
  double nll = 0;  // mean negative log-likelihood (nats)
  double perplexity = 0;
};

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> ids, int64_t ctx, int64_t stride,
                            int64_t chunk = 512, const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace baimo
