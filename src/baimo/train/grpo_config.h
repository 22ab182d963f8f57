// Settings of `baimo grpo` from a run-config JSON object and/or flags: the fine-tuning and rollout
// settings (train/rl_rollout_config.h; "batch" counts prompts per rollout batch) plus GRPO's own.
// Defaults follow TRL's GRPOTrainer where it has them: 8 samples per prompt, one optimisation step
// per rollout batch (num_iterations 1), epsilon 0.2 (epsilon_high = epsilon unless given), loss
// normalisation grpo, rewards scaled by the group's std, temperature 1, 128 new tokens; beta 0.04
// (the DeepSeekMath KL leash; 0 drops the reference); lr 1e-6 full / 1e-5 LoRA, AdamW (0.9, 0.999),
// no weight decay; rewards: "match" (the extracted final answer equals the prompt's "answer").
// Contract: grpo_keys(); parse_grpo_config(merged, where) checks them (group >= 2, epsilons,
// beta >= 0, temperature > 0, top_p in (0, 1], a loss normalisation name, at least one reward) and
// the steps: "steps", else epochs x prompts / batch x iterations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/rl_rollout_config.h"
#include "baimo/train/rl_loss.h"

namespace baimo::train {

const RunKeys& grpo_keys();

struct GrpoConfig : RlRolloutConfig {
  int64_t group = 8, iterations = 1;
  GrpoOptions loss;
  bool scale_rewards = true;
};

GrpoConfig parse_grpo_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
