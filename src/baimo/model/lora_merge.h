// Merging a LoRA adapter into its base weights: W' = W + scaling * B A (lora.h names the shapes).
// Contract:
// - add_lora_delta(w, out, in, a, b, r, scaling): w is a row-major (out, in) f32 matrix, a (r, in),
//   b (out, r). Each element becomes w[o][i] + scaling * d[o][i] where d[o][i] = sum_k b[o][k] a[k][i]
//   is accumulated in f32 in increasing k (the reference tests reproduce it bit for bit).
//   Rows are independent (OpenMP over rows), so the result does not depend on the thread count.
// - merge_lora(model, adapter): adds every pair of the adapter to the Transformer's f32 parameters in
//   place (the caller owns them: a freshly loaded model). baimo::Error when the adapter does not fit
//   the model's config (check_lora_fits). Trainable token rows (lora.h) overwrite their rows of
//   model.embed_tokens.weight (the tied head is the same matrix; an untied lm_head is left as it is,
//   as PEFT's merge does).
// - check_lora_fits(cfg, adapter, where): every pair's base matrix exists with the pair's (out, in),
//   A is (r, in) and B is (out, r); token rows are (K, hidden) with ids inside the vocabulary; errors
//   name `where` and the tensor.
#pragma once
#include <cstdint>
#include <string>

#include "baimo/model/config.h"
#include "baimo/model/lora.h"

namespace baimo {

class Transformer;

void add_lora_delta(float* w, int64_t out, int64_t in, const float* a, const float* b, int64_t r, float scaling);
void check_lora_fits(const ModelConfig& cfg, const LoraAdapter& adapter, const std::string& where);
void merge_lora(Transformer& model, const LoraAdapter& adapter);

}  // namespace baimo
