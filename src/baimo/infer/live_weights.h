// live_weights: the inference weights of a training model as it is now, for rollouts (infer/rollout.h)
// between optimizer steps, without saving or copying the model.
// Contract:
// - Full f32 model, no adapter: weights_from_transformer(model, F32): every matrix, norm and bias
//   points into the Transformer's own parameter buffers (no copy), so an in-place update of the
//   parameters (an optimizer step) is seen by the returned weights without rebuilding them.
// - Frozen base (Transformer::frozen_params, convert/training_base.h): those matrices keep their
//   blocks (F16 / BF16 / Q8_0 / Q4_0, a packed-only copy included); the f32 Vars are shared as above.
// - LoRA attached (Transformer::lora()): every matrix the adapter targets becomes a new F32 buffer
//   W + scaling * B A (model/lora_merge.h add_lora_delta, W dequantized from any storage type), the
//   logits of the training forward with the adapter on (dropout off); the other slots are shared as
//   above. The adapted matrices reflect the adapter at the time of the call: call again after a step.
// - The result's storage keeps the Transformer's buffers alive (a shallow copy of it).
// Cost: nothing without an adapter; with one, r * in * out multiply-adds per adapted matrix.
#pragma once
#include "baimo/infer/model_weights.h"
#include "baimo/model/transformer.h"

namespace baimo {

ModelWeights live_weights(const Transformer& model);

}  // namespace baimo
