// Whole models between a Hugging Face model directory and a GGUF file (llama.cpp's format).
// Contract:
// - export_gguf(src, out, opts): src is a model directory (config.json + model.safetensors
//   [+ tokenizer.json, tokenizer_config.json's chat_template]) or a .gguf file (requantization:
//   its tensors are dequantized to f32 first). Writes GGUF v3 atomically with the metadata and
//   tensor names of gguf_model_meta.h; 2-D weights in opts.type (a matrix whose row length is no
//   multiple of the block size falls back to Q8_0 for the K-quants where rows are a multiple of
//   32, else to F16), 1-D tensors (norms, biases) in F32, q/k rows permuted for the llama
//   architecture. Tensors are converted one at a time while writing.
// - opts.q4_k_m (with type Q4_K): llama.cpp's Q4_K_M mix: Q6_K for the output matrix (the token
//   embedding when tied) and for attn_v / ffn_down of the layers llama.cpp's use_more_bits picks
//   (the first and last eighth, and every third between); Q4_K elsewhere.
// - opts.sparse_2of4 (with type Q8_0): the matrices of the transformer blocks are stored in baimo's
//   compact 2:4 form Q8_0_S24 (quant/sparse_2of4.h; 0.65x of Q8_0's bytes, the same products); each
//   must be 2:4-sparse (baimo prune --pattern 2:4), else baimo::Error names the tensor, row and inputs.
//   The embedding and output matrices stay Q8_0. Only baimo reads such a file (other engines refuse
//   the tensor type).
// - import_gguf(gguf, out_dir): GGUF (architecture llama / qwen2, tensors F32/F16/BF16/Q8_0/Q4_0/
//   Q4_K/Q6_K/Q8_0_S24) -> model directory: config.json, model.safetensors (f32, dequantized, q/k rows
//   un-permuted), tokenizer.json (from tokenizer.ggml.*), tokenizer_config.json with the chat
//   template, bos/eos and add_bos_token (tokenizer.ggml.add_bos_token, written back on export). Every file is written atomically.
// - read_gguf_tensor_f32: one parameter of a GGUF model in HF layout (dequantized, un-permuted).
// Missing tensors, wrong shapes or types throw baimo::Error naming the file and tensor.
#pragma once
#include <span>
#include <string>

#include "baimo/io/gguf_reader.h"
#include "baimo/model/config.h"
#include "baimo/model/param_layout.h"
#include "baimo/tensor/dtype.h"

namespace baimo {

struct GgufExportOptions {
  DType type = DType::F32;  // F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K
  std::string name;         // general.name ("" = the source's file name)
  bool progress = true;     // progress bar on stderr
  bool q4_k_m = false;      // with Q4_K: llama.cpp's Q4_K_M mix (see above)
  bool sparse_2of4 = false; // with Q8_0: block matrices as Q8_0_S24 (see above)
};

void export_gguf(const std::string& src, const std::string& out, const GgufExportOptions& opts = {});
void import_gguf(const std::string& gguf, const std::string& out_dir);

// The GGUF tensor for parameter `spec` (checked: present, shape, a type with a codec); baimo::Error otherwise.
const GgufTensorInfo& gguf_param_tensor(const GgufReader& g, const ParamSpec& spec);
void read_gguf_tensor_f32(const GgufReader& g, const ModelConfig& c, const ParamSpec& spec, std::span<float> out);

// "q8_0" | "q4_0" | "f16" | "bf16" | "f32" (case-insensitive) -> DType; baimo::Error otherwise.
// These are the types baimo's engine runs directly.
DType parse_gguf_type(const std::string& name);
// --type of a GGUF export: parse_gguf_type's names plus "q6_k", "q4_k" (every matrix that type)
// and "q4_k_m" (the mix); sets o.type and o.q4_k_m.
void set_gguf_export_type(GgufExportOptions& o, const std::string& name);

}  // namespace baimo
