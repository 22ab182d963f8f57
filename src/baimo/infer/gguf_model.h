// load_gguf_model: a GGUF file (architecture llama or qwen2, as llama.cpp or baimo writes it) as
// inference weights, memory-mapped.
// Contract:
// - The file is mapped once (GgufReader); F32 / F16 / BF16 / Q8_0 / Q4_0 matrices point straight
//   into the mapping (no copy). Q8_0 / Q4_0 matrices additionally get the row-interleaved copy the
//   fast kernels read (Backend::pack_weights, kernels/cpu/weight_pack.h: WeightMatrix::packed; lm_head too, also when tied).
// - llama files store the rows of attn_q / attn_k (and their biases) permuted for llama.cpp's rope
//   (convert/gguf_model_meta.h); they are put back in Hugging Face order at load by moving whole
//   rows (whole rows of blocks for quantized matrices), so the engine sees the same layout as from
//   a model directory.
// - Q8_0_S24 matrices (baimo's compact 2:4 form) run packed by the 2:4 kernel (AVX-512 VBMI), or
//   as packed dense Q8_0 where the backend has none: the same products either way.
// - Q4_K / Q6_K matrices (llama.cpp's mixed quantizations) are dequantized to F16 at load; 1-D
//   tensors that are not F32 are converted to f32 buffers.
// - ModelWeights::storage owns the mapping and every buffer; chat_template is
//   tokenizer.chat_template ("" when absent). The tokenizer is read from the same file with
//   load_tokenizer(path) (convert/gguf_tokenizer.h).
// - Anything malformed or unsupported throws baimo::Error naming the file and the key / tensor.
#pragma once
#include <string>

#include "baimo/infer/model_weights.h"

namespace baimo {

ModelWeights load_gguf_model(const std::string& path);

}  // namespace baimo
