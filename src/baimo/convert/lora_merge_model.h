// `baimo lora merge`: a base model plus a PEFT LoRA adapter -> a full model directory.
// Contract:
// - merge_lora_model(base, adapter_dir, out_dir): base is a Hugging Face model directory or a GGUF
//   file (dequantized to f32 first, q/k rows un-permuted, as import_gguf does: the merged model is
//   f32 whatever the GGUF's types were). The adapter is read and checked against the base's config
//   (convert/peft_adapter.h) before anything is written. Every targeted matrix becomes
//   W + scaling * B A in f32 (model/lora_merge.h); the rest is copied unchanged. out_dir gets
//   config.json, model.safetensors (F32), tokenizer.json (+ tokenizer_config.json) and
//   generation_config.json from the base, built in a staged directory that replaces out_dir whole
//   on success (util/staged_dir.h): on any error out_dir is left as it was.
#pragma once
#include <string>

namespace baimo {

void merge_lora_model(const std::string& base, const std::string& adapter_dir, const std::string& out_dir);

}  // namespace baimo
