// FinetuneConfig: the settings every fine-tuning stage shares (`baimo sft`, `baimo rm train`,
// `baimo dpo`): the model to start from, data files, chat template, lengths, batch, epochs, the
// held-out share, LoRA and the storage of a LoRA run's frozen base, and the trainer's keys.
// Contract:
// - finetune_keys(batch_help, trainer_overrides): those keys (a stage appends its own).
// - parse_finetune_config fills the shared fields and resolves the defaults that depend on the run
//   before the trainer's checks: lr (lr_full or lr_lora), min_lr (lr / 10); "steps" stays null until
//   the data is known (resolve_finetune_steps: epochs x units per epoch / (batch x grad_accum), at
//   least 1, warmup min(100, steps / 10)), and is then written back into merged so that a resume
//   keeps the schedule. Errors name the key and the source.
// - lora_trainable_tokens: "auto" (the chat template's markers the tokenizer has: PEFT's
//   trainable_token_indices, so that a LoRA run learns to end its turns), "none", or ids (checked
//   here; ids other than auto / none need lora). cli::load_finetune_model resolves it.
// - eval_data (files) replaces the val_fraction split: every record of data trains, the eval files'
//   records are held out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/model/lora.h"
#include "baimo/train/run_config.h"

namespace baimo::train {

RunKeys finetune_keys(const char* data_help, const char* batch_help, const nlohmann::json& trainer_overrides);

struct FinetuneConfig {
  std::string model;                   // start: a model directory or GGUF file
  std::vector<std::string> data;       // training files
  std::vector<std::string> eval_data;  // held-out files (empty: val_fraction of data)
  std::string chat_template = "auto";
  int64_t max_len = 1024;
  int64_t batch = 8;                   // global, over all ranks (rows or pairs: the stage says)
  double epochs = 3;
  double val_fraction = 0.05;
  bool lora = false;
  LoraConfig lora_config;             // trainable_tokens filled by the run (resolve_trainable_tokens)
  std::string lora_trainable_tokens = "auto";  // auto | none | comma-separated ids
  std::string base_dtype = "auto";     // auto | f32 | f16 | bf16 | q8_0 | q4_0: a LoRA run's frozen base
  TrainerSettings settings;            // lr, schedule, out, resume, ... (steps 0 until resolved)
  nlohmann::json merged;               // the effective settings (saved as run_config.json)
};

void parse_finetune_config(FinetuneConfig& c, const nlohmann::json& merged, const std::string& where, double lr_full,
                           double lr_lora);
void resolve_finetune_steps(FinetuneConfig& c, int64_t units_per_epoch);
// The tail of resolving "steps" (at least 1), shared with the RL stages: steps and the default warmup
// written into the options and back into merged.
void set_resolved_steps(FinetuneConfig& c, int64_t steps);
// The path keys of finetune_keys (made absolute in run_config.json).
const std::vector<std::string>& finetune_path_keys();

}  // namespace baimo::train
