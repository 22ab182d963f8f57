// Language-model loss: mean next-token cross-entropy of the model's logits.
// ids, targets: I32 (B, T); targets[b, t] is the token that should follow ids[b, 0..t]
// (ids shifted by one), ignore_index (-100) excludes a position. -> scalar Var (1).
// Through Transformer::loss: the fused, chunked head + cross-entropy (no (B, T, V) logits).
#pragma once
#include "baimo/model/transformer.h"

namespace baimo {

inline ag::Var lm_loss(const Transformer& model, const Tensor& ids, const Tensor& targets,
                       int32_t ignore_index = -100) {
  return model.loss(ids, targets, nullptr, nullptr, ignore_index);
}

// A packed batch: positions and segments I32 (B, T) as Transformer::hidden() takes them (either
// may be null: default positions 0..T-1 / plain causal attention).
inline ag::Var lm_loss(const Transformer& model, const Tensor& ids, const Tensor& targets, const Tensor* positions,
                       const Tensor* segments, int32_t ignore_index = -100) {
  return model.loss(ids, targets, positions, segments, ignore_index);
}

}  // namespace baimo
