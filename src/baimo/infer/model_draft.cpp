#include "baimo/infer/model_draft.h"

#include <algorithm>

namespace baimo {
namespace {

SamplingParams draft_sampling(SamplingParams p) {
  p.seed ^= 0x9e3779b97f4a7c15ULL;  // the draft's draws apart from the target's
  return p;
}

}  // namespace

ModelDrafter::ModelDrafter(std::shared_ptr<const ModelWeights> weights, int64_t ctx, const SamplingParams& sampling)
    : engine_(weights, 1, std::min<int64_t>(ctx, weights->config.max_position_embeddings)),
      sampler_(draft_sampling(sampling)) {}

void ModelDrafter::feed(std::span<const int32_t> tokens) {
  constexpr size_t kChunk = 512;
  for (size_t p = 0; p < tokens.size(); p += kChunk) {
    Engine::Chunk ch{0, tokens.subspan(p, std::min(kChunk, tokens.size() - p))};
    engine_.forward(std::span(&ch, 1), logits_);
  }
}

void ModelDrafter::propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) {
  out.clear();
  q.clear();
  const int64_t L = static_cast<int64_t>(history.size());
  // The cache ends holding history + k - 1 drafts.
  k = static_cast<int>(std::min<int64_t>(k, engine_.ctx() - L + 1));
  if (L == 0 || k < 1) return;
  // Keep the cached tokens the history starts with; at least its last token is fed (its logits).
  size_t c = 0;
  while (c < cached_.size() && c < history.size() && cached_[c] == history[c]) ++c;
  c = std::min(c, history.size() - 1);
  engine_.cache().truncate(0, static_cast<int64_t>(c));
  feed(history.subspan(c));
  hist_.assign(history.begin(), history.end());
  for (int i = 0; i < k; ++i) {
    work_.assign(logits_.begin(), logits_.end());
    sampler_.distribution(work_, hist_, probs_);
    const int32_t x = sampler_.draw(probs_);
    out.push_back(x);
    q.insert(q.end(), probs_.begin(), probs_.end());
    hist_.push_back(x);
    if (i + 1 < k) feed(std::span(&hist_.back(), 1));
  }
  cached_.assign(hist_.begin(), hist_.end() - 1);
}

}  // namespace baimo
