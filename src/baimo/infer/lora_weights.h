// A LoRA adapter applied to inference weights at load time (`--lora DIR` on generate, chat,
// eval run and serve), without a merge step on disk.
// Contract:
// - apply_lora(base, adapter, where): a new ModelWeights in which every matrix the adapter targets is
//   W + scaling * B A (model/lora_merge.h) and every other slot is base's. The adapted matrices live in
//   new buffers of the same type as base's: F32 / F16 / BF16 matrices are widened to f32, added to
//   and rounded back; Q8_0 / Q4_0 (and a GGUF's K-quant) matrices are dequantized, added to,
//   requantized to the same type and re-packed (Backend::pack_weights). Requantizing is lossy (the
//   quantization error of W + delta, not of W), as merging into a quantized base always is; for a
//   model directory, load_inference_model merges in f32 before any --dtype conversion instead.
//   base's buffers are never written (they may be mmapped or shared with a Transformer); the result's
//   storage keeps base's alive.
// - Trainable token rows (model/lora.h): the embedding gets a new buffer of its type with those rows
//   replaced (quantized like the others, per row), and a tied lm_head is the same new matrix
//   (re-packed); an untied lm_head keeps its rows (PEFT's behaviour).
// - The adapter must fit the base (model/lora_merge.h check_lora_fits): baimo::Error naming `where`
//   and the tensor otherwise, before anything is converted.
#pragma once
#include <string>

#include "baimo/infer/model_weights.h"
#include "baimo/model/lora.h"

namespace baimo {

ModelWeights apply_lora(const ModelWeights& base, const LoraAdapter& adapter, const std::string& where);

}  // namespace baimo
