// Draft models for speculative decoding (speculative.h): a small model that shares the target's
// tokenizer (speculative.h checks) drafts k tokens by decoding them one at a time, drawing each from
// its own sampling distribution (the sequence's SamplingParams, seeded apart from the target's; a
// point mass at temperature 0) and returning those distributions as q.
// BatchModelDrafter: the draft model for every slot of a BatchScheduler at once. One draft Engine
// with the scheduler's slots (context min(ctx, the draft's max_position_embeddings)); each slot's KV
// cache follows its sequence lazily: propose() keeps the cached tokens the history still starts with
// (the target rejected the rest, or a new sequence shares a prefix), feeds the history's new tokens
// (in pieces of at most 512), then the drafts. The slots asking in one call go through every one of
// those forward passes together (one Engine::forward per draft step for all of them). Near the end of
// the draft context a proposal shrinks (to nothing when the history fills it).
//   start(slot, sampling): a new sequence in the slot (its sampler; the cached tokens stay for reuse).
// ModelDrafter: the Drafter of generate() / chat: a BatchModelDrafter with one slot.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/sampler.h"
#include "baimo/infer/speculative.h"

namespace baimo {

struct DraftAsk {
  int slot = 0;
  std::span<const int32_t> history;  // the prompt and every token accepted so far
  int k = 1;                         // most tokens wanted (>= 1)
  std::vector<int32_t>* out = nullptr;  // cleared, then the drafts
  std::vector<float>* q = nullptr;      // cleared, then (out.size(), V) rows: what each was drawn from
};

class BatchModelDrafter {
 public:
  BatchModelDrafter(std::shared_ptr<const ModelWeights> weights, int slots, int64_t ctx);
  void start(int slot, const SamplingParams& sampling);
  // Each slot at most once; every asked slot has been start()ed.
  void propose(std::span<const DraftAsk> asks);
  Engine& engine() { return engine_; }

 private:
  struct SlotState {
    std::optional<Sampler> sampler;
    std::vector<int32_t> cached, hist;  // tokens in the draft's KV cache; history + drafts
    std::vector<float> logits, work, probs;  // the slot's latest logits row; scratch
    std::span<const int32_t> feed;  // history not yet in the cache
  };
  // One forward pass of `chunks_`; each chunk's logits row goes to its slot's state.
  void forward();

  Engine engine_;
  std::vector<SlotState> slots_;
  std::vector<Engine::Chunk> chunks_;
  std::vector<float> logits_;
};

class ModelDrafter : public Drafter {
 public:
  ModelDrafter(std::shared_ptr<const ModelWeights> weights, int64_t ctx, const SamplingParams& sampling);
  void propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) override;
  Engine& engine() { return drafter_.engine(); }

 private:
  BatchModelDrafter drafter_;
};

}  // namespace baimo
