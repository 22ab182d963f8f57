#include "baimo/infer/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "baimo/infer/inference_model.h"
#include "baimo/util/error.h"

namespace baimo {

std::vector<int32_t> perplexity_ids(const Tokenizer& tok, std::string_view text, int64_t limit) {
  std::vector<int32_t> ids;
  for (uint32_t id : tok.encode_parallel(text, Specials::AsText)) ids.push_back(static_cast<int32_t>(id));
  prepend_bos_once(tok, ids);  // the document starts with the BOS for add_bos models
  if (limit > 0 && static_cast<int64_t>(ids.size()) > limit) ids.resize(static_cast<size_t>(limit));
  return ids;
}

int64_t perplexity_chunk(int64_t vocab_size) { return std::clamp<int64_t>((int64_t{64} << 20) / vocab_size, 1, 512); }

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> ids, int64_t ctx, int64_t stride, int64_t chunk,
                            const std::function<void(int64_t, int64_t)>& progress) {
  const int64_t n = static_cast<int64_t>(ids.size()), V = engine.config().vocab_size;
  if (n < 2) fail("perplexity needs at least 2 tokens, the input has {}", n);
  if (ctx < 2 || ctx > engine.ctx()) fail("perplexity window {} must be in 2..{}", ctx, engine.ctx());
  if (stride < 1 || stride > ctx) fail("stride {} must be in 1..{} (the window)", stride, ctx);
  chunk = std::max<int64_t>(1, std::min(chunk, ctx));
  PerplexityResult r;
  r.tokens = n;
  double total = 0;
  std::vector<float> logits;
  int64_t scored_to = 1;  // tokens before scored_to have been scored (or skipped)
  for (int64_t begin = 0; scored_to < n; begin += stride) {
    const int64_t end = std::min(begin + ctx, n);
    engine.cache().truncate(0, 0);
    ++r.windows;
    for (int64_t c0 = begin; c0 < end; c0 += chunk) {
      const int64_t c1 = std::min(end, c0 + chunk);
      Engine::Chunk ch{0, ids.subspan(static_cast<size_t>(c0), static_cast<size_t>(c1 - c0)), true};
      engine.forward(std::span(&ch, 1), logits);
      // Row i of this chunk is position c0 + i and predicts token c0 + i + 1.
      const int64_t first = std::max(c0, scored_to - 1), last = std::min(c1, end - 1);  // predicting positions
      double part = 0;
#pragma omp parallel for reduction(+ : part) schedule(static)
      for (int64_t p = first; p < last; ++p) {
        const float* row = logits.data() + (p - c0) * V;
        float mx = row[0];
        for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
        double z = 0;
        for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v] - mx));
        part += mx + std::log(z) - row[ids[static_cast<size_t>(p + 1)]];
      }
      total += part;
      if (last > first) r.scored += last - first;
    }
    scored_to = end;
    if (progress) progress(scored_to, n);
  }
  r.nll = total / static_cast<double>(r.scored);
  r.perplexity = std::exp(r.nll);
  return r;
}

}  // namespace baimo
