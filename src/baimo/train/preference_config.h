// Settings of the preference stages, `baimo rm train` (a reward model) and `baimo dpo` (DPO and its
// family), from a run-config JSON object and/or flags: the fine-tuning settings every stage shares
// (train/finetune_config.h; batch counts pairs) plus their own. Defaults follow TRL / LLaMA-Factory:
// AdamW betas (0.9, 0.999), no weight decay, cosine to lr/10, max_len 1024 with max_prompt_len min(512, max_len / 2),
// 8 pairs per micro-batch, 5% held out; DPO: loss sigmoid, beta 0.1, lr 1e-6 full / 5e-6 LoRA; reward
// model: lr 1e-5 full / 1e-4 LoRA, no reward centring.
// Contract: dpo_keys() / rm_keys(); parse_preference_config(merged, where, stage) checks them
// (loss names, beta > 0, label_smoothing in [0, 0.5), max_prompt_len < max_len, center >= 0).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/train/finetune_config.h"
#include "baimo/train/preference_loss.h"

namespace baimo::train {

enum class PreferenceStage { RewardModel, Dpo };

const RunKeys& dpo_keys();
const RunKeys& rm_keys();

struct PreferenceConfig : FinetuneConfig {
  int64_t max_prompt_len = 512;
  PreferenceLossOptions loss;  // DPO
  float center_rewards = 0;    // reward model: coefficient of mean((r+ + r-)^2)
  std::string debug_dump_pairs;  // DPO, bench/dpo: the first steps' micro-batches and reference log-probs
};

PreferenceConfig parse_preference_config(const nlohmann::json& merged, const std::string& where, PreferenceStage stage);

}  // namespace baimo::train
