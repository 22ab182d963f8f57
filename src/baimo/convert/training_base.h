// load_training_base: the base model a training run starts from, as an autograd Transformer.
//   path: a model directory or a GGUF file (model/open_model.h decides).
//   storage F32:    every parameter an f32 Var that requires grad (full fine-tuning); GGUF tensors
//                   are dequantized to f32 and q/k rows un-permuted (read_gguf_tensor_f32).
//   storage Frozen: the base of LoRA / QLoRA. Every 2-D parameter (embedding, lm_head, layer
//                   products) stays a frozen matrix (Transformer::frozen_params) in the file's type:
//                   a GGUF's F32 / F16 / BF16 / Q8_0 / Q4_0 as stored (mapped; copied only where
//                   llama's q/k rows must move back to Hugging Face order, whole rows of blocks, exact);
//                   K-quants (Q4_K / Q6_K) are requantized to Q8_0 at load (one row at a time; no
//                   kernel reads K-quants in training); Q8_0_S24 (2:4 compact) is expanded to the
//                   Q8_0 rows it stands for (exact). A model directory's matrices are converted
//                   to `dir_type` (F32 / F16 / BF16 / Q8_0 / Q4_0) while loading, one matrix at a time.
//                   Q8_0 / Q4_0 matrices are then held ONLY as the backend's packed copy
//                   (Backend::pack_weights; WeightMatrix::data == nullptr), which the forward's int8
//                   kernels, the tiled dx and the embedding lookup all read: the base is held once.
//                   Norms and biases are f32 Vars with requires_grad = false. No f32 buffer of a
//                   frozen matrix survives the load; the returned Transformer owns (through
//                   shared storage) the mapping and the buffers its frozen matrices point into.
// dir_type with a GGUF (other than F32) is an error: a GGUF keeps its own types (use `baimo quantize`).
// Bad files throw baimo::Error naming the file and tensor.
#pragma once
#include <string>

#include "baimo/model/transformer.h"
#include "baimo/tensor/dtype.h"

namespace baimo {

enum class BaseStorage { F32, Frozen };

Transformer load_training_base(const std::string& path, BaseStorage storage, DType dir_type = DType::F32);

}  // namespace baimo
