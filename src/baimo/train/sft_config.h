// SftConfig: every setting of `baimo sft` (instruction tuning, full or LoRA), from a run-config JSON
// object and/or flags (train/run_config.h): the fine-tuning settings every stage shares
// (train/finetune_config.h) plus SFT's own. Defaults follow the usual SFT recipes (TRL /
// LLaMA-Factory): AdamW betas (0.9, 0.999), no weight decay, cosine to lr/10, lr 2e-5 for a full
// fine-tune and 2e-4 for LoRA (r 8, alpha 16, dropout 0.05, every linear layer), packing on,
// max_len 1024, 5% held out.
// Contract:
// - sft_keys(): finetune_keys plus format, name/author placeholders, long (truncate | skip), packing,
//   eval_rows, debug_dump_rows.
// - parse_sft_config: parse_finetune_config plus those keys; "steps" stays null until the data is
//   known (resolve_finetune_steps with the packed rows of an epoch).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/train/finetune_config.h"

namespace baimo::train {

const RunKeys& sft_keys();

struct SftConfig : FinetuneConfig {
  std::string format = "auto";     // auto | openai | alpaca | sharegpt
  std::map<std::string, std::string> placeholders;  // {{name}} / {{author}}
  bool skip_long = false;          // long = skip (else truncate the prompt from the left)
  bool packing = true;
  int64_t eval_rows = 0;           // rows of the held-out set per evaluation (0 = all)
  std::string debug_dump_rows;     // bench/sft: the rows its anchor trains on
};

// `merged` from merge_run_settings(sft_keys()); steps may still be null (resolve_finetune_steps).
SftConfig parse_sft_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
