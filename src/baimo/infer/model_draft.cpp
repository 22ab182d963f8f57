#include "baimo/infer/model_draft.h"

#include <algorithm>

#include "baimo/util/error.h"

namespace baimo {
namespace {

constexpr size_t kFeedChunk = 512;  // history tokens of one slot per catch-up pass

SamplingParams draft_sampling(SamplingParams p) {
  p.seed ^= 0x9e3779b97f4a7c15ULL;  // the draft's draws apart from the target's
  return p;
}

}  // namespace

BatchModelDrafter::BatchModelDrafter(std::shared_ptr<const ModelWeights> weights, int slots, int64_t ctx)
    : engine_(weights, slots, std::min<int64_t>(ctx, weights->config.max_position_embeddings)),
      slots_(static_cast<size_t>(slots)) {}

void BatchModelDrafter::start(int slot, const SamplingParams& sampling) {
  slots_.at(static_cast<size_t>(slot)).sampler.emplace(draft_sampling(sampling));
}

void BatchModelDrafter::forward() {
  engine_.forward(chunks_, logits_);
  const size_t vocab = static_cast<size_t>(engine_.config().vocab_size);
  for (size_t i = 0; i < chunks_.size(); ++i) {
    SlotState& s = slots_[static_cast<size_t>(chunks_[i].slot)];
    s.logits.assign(logits_.begin() + static_cast<std::ptrdiff_t>(i * vocab),
                    logits_.begin() + static_cast<std::ptrdiff_t>((i + 1) * vocab));
  }
}

void BatchModelDrafter::propose(std::span<const DraftAsk> asks) {
  // Who drafts how many: the cache ends holding history + k - 1 drafts.
  std::vector<int> ks(asks.size(), 0);
  for (size_t i = 0; i < asks.size(); ++i) {
    const DraftAsk& a = asks[i];
    a.out->clear();
    a.q->clear();
    SlotState& s = slots_.at(static_cast<size_t>(a.slot));
    if (!s.sampler) fail("BatchModelDrafter: slot {} asked for drafts before start()", a.slot);
    const int64_t L = static_cast<int64_t>(a.history.size());
    ks[i] = static_cast<int>(std::min<int64_t>(a.k, engine_.ctx() - L + 1));
    if (L == 0 || ks[i] < 1) {
      ks[i] = 0;
      continue;
    }
    // Keep the cached tokens the history starts with; at least its last token is fed (its logits).
    size_t c = 0;
    while (c < s.cached.size() && c < a.history.size() && s.cached[c] == a.history[c]) ++c;
    c = std::min(c, a.history.size() - 1);
    engine_.cache().truncate(a.slot, static_cast<int64_t>(c));
    s.feed = a.history.subspan(c);
    s.hist.assign(a.history.begin(), a.history.end());
  }
  // Catch up: every drafting slot's new history, a piece of each per pass.
  for (;;) {
    chunks_.clear();
    for (size_t i = 0; i < asks.size(); ++i) {
      SlotState& s = slots_[static_cast<size_t>(asks[i].slot)];
      if (ks[i] == 0 || s.feed.empty()) continue;
      const size_t n = std::min(kFeedChunk, s.feed.size());
      chunks_.push_back({asks[i].slot, s.feed.first(n)});
      s.feed = s.feed.subspan(n);
    }
    if (chunks_.empty()) break;
    forward();
  }
  // Draft step j: every slot with more than j drafts to make draws one, then feeds it.
  const int k_max = ks.empty() ? 0 : *std::max_element(ks.begin(), ks.end());
  for (int j = 0; j < k_max; ++j) {
    chunks_.clear();
    for (size_t i = 0; i < asks.size(); ++i) {
      if (j >= ks[i]) continue;
      SlotState& s = slots_[static_cast<size_t>(asks[i].slot)];
      s.work.assign(s.logits.begin(), s.logits.end());
      s.sampler->distribution(s.work, s.hist, s.probs);
      const int32_t x = s.sampler->draw(s.probs);
      asks[i].out->push_back(x);
      asks[i].q->insert(asks[i].q->end(), s.probs.begin(), s.probs.end());
      s.hist.push_back(x);
      if (j + 1 < ks[i]) chunks_.push_back({asks[i].slot, std::span(&s.hist.back(), 1)});
    }
    if (!chunks_.empty()) forward();
  }
  for (size_t i = 0; i < asks.size(); ++i) {
    if (ks[i] == 0) continue;
    SlotState& s = slots_[static_cast<size_t>(asks[i].slot)];
    s.cached.assign(s.hist.begin(), s.hist.end() - 1);
  }
}

ModelDrafter::ModelDrafter(std::shared_ptr<const ModelWeights> weights, int64_t ctx, const SamplingParams& sampling)
    : drafter_(std::move(weights), 1, ctx) {
  drafter_.start(0, sampling);
}

void ModelDrafter::propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) {
  const DraftAsk ask{0, history, k, &out, &q};
  drafter_.propose(std::span(&ask, 1));
}

}  // namespace baimo
