// ModelDrafter: a small model that shares the target's tokenizer (speculative.h checks) drafts k
// tokens by decoding them one at a time on its own Engine (one slot), drawing each from its own
// sampling distribution (the target's SamplingParams, seeded apart; a point mass at temperature 0)
// and returning those distributions as q.
// Its KV cache follows the history lazily: propose() keeps the cached tokens the history still
// starts with (the target rejected the rest, or a chat turn rewrote the tail), feeds the history's
// new tokens as one prefill chunk, then the drafts. Draft context: min(ctx, the draft's
// max_position_embeddings); near its end the proposal shrinks (to nothing when the history fills it).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/sampler.h"
#include "baimo/infer/speculative.h"

namespace baimo {

class ModelDrafter : public Drafter {
 public:
  ModelDrafter(std::shared_ptr<const ModelWeights> weights, int64_t ctx, const SamplingParams& sampling);
  void propose(std::span<const int32_t> history, int k, std::vector<int32_t>& out, std::vector<float>& q) override;
  Engine& engine() { return engine_; }

 private:
  void feed(std::span<const int32_t> tokens);

  Engine engine_;
  Sampler sampler_;
  std::vector<int32_t> cached_, hist_;  // tokens in the draft's KV cache; history + drafts
  std::vector<float> logits_, work_, probs_;
};

}  // namespace baimo
