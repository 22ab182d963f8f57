// `baimo lora export`: a PEFT LoRA adapter as the GGUF LoRA adapter file llama.cpp loads
// (llama-cli --lora, llama_adapter_lora_init; the layout of llama.cpp's convert_lora_to_gguf.py).
// Contract:
// - export_gguf_lora(base, adapter_dir, out, dtype): base (model directory or GGUF) gives the config
//   the adapter is checked against and the architecture. Writes GGUF v3 atomically with
//   general.type "adapter", general.architecture gguf_arch(base) ("llama" | "qwen2"),
//   adapter.type "lora", adapter.lora.alpha and, per adapted matrix, blk.N.<attn_q|attn_k|attn_v|
//   attn_output|ffn_gate|ffn_up|ffn_down>.weight.lora_a with ggml ne = [in, r] (PEFT's A (r, in)
//   as is) and .lora_b with ne = [r, out] (B (out, r)); dtype F32 (default) or F16.
// - llama.cpp scales by alpha / r (r = lora_a's ne[1]); an rslora adapter (alpha / sqrt(r)) is
//   written with alpha' = alpha * sqrt(r) so that the product is the same.
// - llama architecture: GGUF stores q/k rows permuted per head (convert/gguf_model_meta.h), so
//   lora_b of attn_q / attn_k gets the same row permutation (B A's rows are W's rows).
// - An adapter with trainable token rows (trainable_token_indices) is refused with a baimo::Error
//   that says to merge it instead: llama.cpp's adapter format holds only B A pairs, and a tied
//   GGUF has no output tensor for the head's copy of those rows. Dropping them would silently lose
//   the end-of-turn rows that make a LoRA SFT model stop.
// Errors (bad base, adapter not fitting it) are baimo::Error naming the file and tensor; nothing is
// written then.
#pragma once
#include <string>

#include "baimo/tensor/dtype.h"

namespace baimo {

void export_gguf_lora(const std::string& base, const std::string& adapter_dir, const std::string& out,
                      DType dtype = DType::F32);

}  // namespace baimo
