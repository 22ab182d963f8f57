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
#include <string_view>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct PerplexityResult {
  int64_t tokens = 0;  // tokens in the input
  int64_t scored = 0;  // tokens predicted (tokens - 1)
  int64_t windows = 0;
  double nll = 0;  // mean negative log-likelihood (nats)
  double perplexity = 0;
};

// A text's ids as `baimo eval perplexity` scores them: special-token text as plain text, the BOS first
// for models that add one (prepend_bos_once), then at most `limit` tokens (0 = all).
std::vector<int32_t> perplexity_ids(const Tokenizer& tok, std::string_view text, int64_t limit = 0);

// Rows per forward chunk for a vocabulary: a chunk's logits stay under ~256 MB (1 to 512 rows).
int64_t perplexity_chunk(int64_t vocab_size);

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> ids, int64_t ctx, int64_t stride,
                            int64_t chunk = 512, const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace baimo
