// How a baimo / Hugging Face model maps onto a GGUF file the way llama.cpp reads it.
// Contract:
// - Architecture: config model_type qwen2 -> "qwen2", llama and mistral -> "llama" (as llama.cpp's
//   convert_hf_to_gguf.py does). Hyper-parameters go to <arch>.context_length, embedding_length,
//   block_count, feed_forward_length, attention.head_count, attention.head_count_kv,
//   attention.key_length / value_length, attention.layer_norm_rms_epsilon, rope.freq_base,
//   rope.dimension_count, vocab_size; general.file_type is llama_ftype (0 f32, 1 f16, 2 q4_0,
//   7 q8_0, 32 bf16).
// - Tensor names: HF "model.layers.N.self_attn.q_proj.weight" <-> ggml "blk.N.attn_q.weight", etc.
//   (token_embd, attn_norm, attn_q/k/v/output (+ .bias), ffn_norm, ffn_gate/up/down, output_norm,
//   output). A tied model has no "output.weight" (llama.cpp then reuses token_embd).
// - Rotary layout: HF rotates the two halves of each head (rotate_half); llama.cpp's `llama`
//   architecture rotates adjacent pairs, so its converter permutes the rows of q_proj / k_proj
//   (and their biases) per head: GGUF row h*D + 2i + j holds HF row h*D + j*D/2 + i (i < D/2,
//   j in {0,1}). `qwen2` uses the NeoX (halves) rotation: no permutation. Whole rows move, so a
//   quantized matrix is permuted by moving its rows of blocks.
// - Tokenizer: tokenizer.ggml.model "gpt2", tokens (GPT-2 byte-to-unicode form, padded to
//   vocab_size with "[PAD<id>]" of type UNUSED), token_type (1 normal, 3 control = special added,
//   4 user-defined = other added), merges, pre (gpt-2 | llama-bpe | qwen2 | gpt-4o |
//   deepseek-coder | baimo; "baimo" is baimo's own split pattern, unknown to llama.cpp),
//   bos/eos ids, add_bos_token (Tokenizer::add_bos), tokenizer.chat_template.
// Every read checks types and ranges and throws baimo::Error naming the file and key / tensor.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baimo/io/gguf_reader.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/model/config.h"
#include "baimo/tensor/dtype.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

// "llama" or "qwen2" for a config.
std::string gguf_arch(const ModelConfig& c);
// llama_ftype of a file whose matrices are mostly `t` (Q4_K: MOSTLY_Q4_K_M, llama.cpp's mix).
uint32_t gguf_file_type(DType t);
// DType of a ggml tensor type id; nullopt for types baimo has no codec for.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);

// ggml name of an HF parameter name from param_layout(); baimo::Error for an unknown name.
std::string gguf_tensor_name(const std::string& hf_name);
// Whether rows of this HF parameter are stored permuted (llama arch, q/k weight or bias); then
// heads is the head count of that projection (attention heads for q, kv heads for k).
bool gguf_rows_permuted(const ModelConfig& c, const std::string& hf_name, int64_t* heads);
// Row maps for a projection of `heads` heads of size head_dim.
int64_t gguf_row_from_hf(int64_t hf_row, int64_t head_dim);
int64_t hf_row_from_gguf(int64_t gguf_row, int64_t head_dim);

// Writes general.* and <arch>.* hyper-parameters (not the tokenizer). general.file_type is
// file_type when given, else gguf_file_type(main_type).
void gguf_write_config(GgufWriter& w, const ModelConfig& c, DType main_type, const std::string& name,
                       std::optional<uint32_t> file_type = std::nullopt);
// Writes tokenizer.ggml.* (and tokenizer.chat_template when not empty). Tokens are padded to
// vocab_size; baimo::Error if the tokenizer has more tokens than that. A tokenizer that normalizes to
// NFC (Qwen2.5's) is written without its normalizer, as llama.cpp's converter writes it, with a
// warning on stderr: the GGUF then tokenizes as llama.cpp does (no normalization).
void gguf_write_tokenizer(GgufWriter& w, const Tokenizer& tok, int64_t vocab_size, const std::string& chat_template);

// ModelConfig from a GGUF's metadata (architecture llama or qwen2) and its tensor list (biases,
// tied output). bos/eos come from tokenizer.ggml.*_token_id.
ModelConfig gguf_read_config(const GgufReader& g);
std::string gguf_read_chat_template(const GgufReader& g);

}  // namespace baimo
