// The module a fine-tuning objective trains: the whole model, or the LoRA adapter on a frozen base.
//   full  (adapter == nullptr): module "model", the Transformer (AdamW groups of train/param_groups.h),
//         saved as a Hugging Face model directory (tokenizer.json + tokenizer_config.json copied in);
//   LoRA  (adapter attached to the model): module "lora", the adapter's A and B (and its trainable
//         token rows, kTokenRowsName, with their AdamW moments), saved as a PEFT
//         adapter directory (convert/peft_adapter.h) naming base_model; loading checks that the
//         checkpoint's adapter is this run's (rank, matrices, trainable token ids).
#pragma once
#include <string>

#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objective.h"

namespace baimo::train {

struct FinetuneModuleOptions {
  std::string tokenizer_json;  // full: copied into every checkpoint
  std::string base_model;      // LoRA: base_model_name_or_path in adapter_config.json
  bool weight_decay_all = false;
  bool decay_lora = false;
};

TrainModule finetune_module(Transformer& model, LoraAdapter* adapter, const FinetuneModuleOptions& o);

}  // namespace baimo::train
