// SftConfig: every setting of `baimo sft` (instruction tuning, full or LoRA), from a run-config JSON
// object and/or flags (train/run_config.h). Defaults follow the usual SFT recipes (TRL / LLaMA-Factory):
// AdamW betas (0.9, 0.999), no weight decay, cosine to lr/10, lr 2e-5 for a full fine-tune and 2e-4
// for LoRA (r 8, alpha 16, dropout 0.05, every linear layer), packing on, max_len 1024, 5% held out.
// Contract:
// - sft_keys(): the trainer's keys plus model, data (several files), format, template, name/author
//   placeholders, max_len, long (truncate | skip), packing, batch, epochs, val_fraction, eval_rows,
//   lora, lora_r, lora_alpha, lora_dropout, lora_targets, rslora, base_dtype.
// - parse_sft_config resolves the defaults that depend on the run before the trainer's checks:
//   lr (by full / LoRA), min_lr (lr / 10); "steps" stays null until the data is known
//   (resolve_sft_steps: epochs x packed rows / (batch x grad_accum), at least 1), and is then written
//   back into merged so that a resume keeps the schedule. Errors name the key and the source.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/model/lora.h"
#include "baimo/train/run_config.h"

namespace baimo::train {

const RunKeys& sft_keys();
const std::vector<std::string>& sft_path_keys();

struct SftConfig {
  std::string model;               // base: model directory or GGUF file
  std::vector<std::string> data;   // chat data files
  std::string format = "auto";     // auto | openai | alpaca | sharegpt
  std::string chat_template = "auto";
  std::map<std::string, std::string> placeholders;  // {{name}} / {{author}}
  int64_t max_len = 1024;
  bool skip_long = false;          // long = skip (else truncate the prompt from the left)
  bool packing = true;
  int64_t batch = 8;               // rows per micro-batch (global, over all ranks)
  double epochs = 3;
  double val_fraction = 0.05;
  int64_t eval_rows = 0;           // rows of the held-out set per evaluation (0 = all)
  bool lora = false;
  LoraConfig lora_config;
  std::string base_dtype = "auto"; // auto | f32 | f16 | bf16 | q8_0 | q4_0: storage of a LoRA run's frozen base
  std::string debug_dump_rows;     // bench/sft: the rows its anchor trains on
  TrainerSettings settings;        // lr, schedule, out, resume, ... (steps 0 until resolved)
  nlohmann::json merged;           // the effective settings (saved as run_config.json)
};

// `merged` from merge_run_settings(sft_keys()); steps may still be null (resolve_sft_steps).
SftConfig parse_sft_config(const nlohmann::json& merged, const std::string& where);
// Sets settings.trainer.steps from the epochs when "steps" was not given; records it in merged.
void resolve_sft_steps(SftConfig& c, int64_t train_rows);

}  // namespace baimo::train
