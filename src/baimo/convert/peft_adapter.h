// LoRA adapters as Hugging Face PEFT directories (what `PeftModel.save_pretrained` writes and
// `PeftModel.from_pretrained` reads):
//   adapter_config.json        peft_type "LORA", task_type "CAUSAL_LM", r, lora_alpha, lora_dropout,
//                              target_modules (list of q_proj ... down_proj), use_rslora, bias "none",
//                              fan_in_fan_out false, inference_mode true, use_dora false, ... (the
//                              fields PEFT's LoraConfig writes, keys sorted as PEFT does)
//                              [trainable_token_indices: [ids] when the adapter trains token rows]
//   adapter_model.safetensors  base_model.model.model.layers.N.<module>.lora_{A,B}.weight (lora.h),
//                              [base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta
//                               (K, hidden): the token rows, PEFT's TrainableTokensWrapper; a tied
//                               lm_head saves nothing of its own, as in PEFT]
//                              metadata {"format": "pt"}
// Contract:
// - save_peft_adapter(dir, adapter, base, dtype): writes both files into a staged directory that
//   replaces `dir` whole at the end (util/staged_dir.h): nothing half-written on any failure, and
//   whatever `dir` held before is gone. dtype F32 (default), F16 or BF16.
// - load_peft_adapter(dir, base): reads and checks everything before returning:
//   missing directory / files (a pickle adapter_model.bin is refused: save with safetensors);
//   JSON syntax and field types; peft_type "LORA"; 1 <= r <= 65536, lora_alpha > 0; target_modules a list of
//   module names (or one name, or "all-linear"; regular expressions are refused);
//   unsupported options refused by name: fan_in_fan_out, use_dora, modules_to_save, layers_to_transform,
//   layers_pattern, rank_pattern, alpha_pattern, bias other than "none", lora_bias, layer_replication,
//   target_parameters; trainable_token_indices is read (a list of ids, or {"embed_tokens": [ids]}; ids
//   inside the base's vocabulary) with its (K, hidden) trainable_tokens_delta; tensors F32/F16/BF16 (converted to f32), named as PEFT saves them (the
//   adapter name ".default" inside the name, as in an unsaved state_dict, is accepted too), each
//   with the shape the base config and r imply; every expected tensor present and no other tensor.
//   Each error is a baimo::Error naming the file and the field or tensor.
#pragma once
#include <string>
#include <string_view>

#include "baimo/model/config.h"
#include "baimo/model/lora.h"
#include "baimo/tensor/dtype.h"

namespace baimo {

inline constexpr const char* kPeftConfigFile = "adapter_config.json";
inline constexpr const char* kPeftWeightsFile = "adapter_model.safetensors";

// The same two files written into an existing directory, each atomically, leaving other files there
// (a training checkpoint holds the adapter beside its optimizer state).
void write_peft_adapter_files(const std::string& dir, const LoraAdapter& adapter,
                              const std::string& base_model_name_or_path, DType dtype = DType::F32);
void save_peft_adapter(const std::string& dir, const LoraAdapter& adapter, const std::string& base_model_name_or_path,
                       DType dtype = DType::F32);
LoraAdapter load_peft_adapter(const std::string& dir, const ModelConfig& base);

// Only adapter_config.json, parsed and checked as above (r, alpha, dropout, rslora, targets);
// parse_peft_adapter_config does it on the file's text (`where` names it in errors; fuzzed).
LoraConfig read_peft_adapter_config(const std::string& dir);
LoraConfig parse_peft_adapter_config(std::string_view text, const std::string& where);

}  // namespace baimo
