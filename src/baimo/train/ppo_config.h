// Settings of `baimo ppo` from a run-config JSON object and/or flags: the fine-tuning and rollout
// settings (train/rl_rollout_config.h; "batch" counts prompts per rollout batch) plus PPO's own.
// Defaults follow TRL's PPOTrainer: 1 answer per prompt, 4 PPO epochs of 1 mini-batch over each
// rollout batch, cliprange 0.2, cliprange_value 0.2, vf_coef 0.1, gamma 1, lam 0.95, kl_coef 0.05
// with the k1 estimator (target_kl unset: fixed; set: the adaptive controller, horizon 10000),
// whitened advantages, no reward normalisation, no missing-EOS penalty; lr 3e-6 full / 1e-5 LoRA,
// AdamW (0.9, 0.999), no weight decay. "value_init": policy (the value trunk starts as the policy)
// | reward (as the reward model of the first model:DIR reward: trunk and head; full runs only).
// Contract: ppo_keys(); parse_ppo_config(merged, where) checks them; the steps: "steps", else
// epochs x prompts / batch x ppo_epochs x mini_batches.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/train/rl_kl.h"
#include "baimo/train/rl_loss.h"
#include "baimo/train/rl_rollout_config.h"

namespace baimo::train {

const RunKeys& ppo_keys();

struct PpoConfig : RlRolloutConfig {
  int64_t samples = 1, ppo_epochs = 4, mini_batches = 1;
  PpoOptions loss;
  float kl_coef = 0.05f, target_kl = 0, kl_horizon = 10000, gamma = 1, lam = 0.95f, missing_eos_penalty = 0;
  KlEstimator kl_estimator = KlEstimator::K1;
  bool normalize_reward = false, whiten_advantages = true;
  std::string value_init = "policy";  // policy | reward
};

PpoConfig parse_ppo_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
