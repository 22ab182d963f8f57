// The settings that `baimo grpo` and `baimo ppo` share (train/grpo_config.h, train/ppo_config.h):
// the fine-tuning settings (finetune_config.h) plus how rollouts are sampled and scored.
// rl_rollout_keys(): max_new_tokens (128), temperature (1), top_p (1), top_k (0), reward (a list of
// eval/rewards.h specs; `default_reward`), reward_timeout (300 s), eval_prompts (0: all), slots (16).
// parse_rl_rollout_config checks them (max_new_tokens < max_len, temperature > 0, top_p in (0, 1],
// at least one reward), naming `where`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/finetune_config.h"

namespace baimo::train {

RunKeys rl_rollout_keys(const nlohmann::json& default_reward);
// Every key of an RL command: finetune_keys (data_help; "batch" = batch_help; "epochs" 1 = passes over
// the prompts; the trainer's RL defaults: lr and steps resolved later, no weight decay, beta2 0.999,
// evaluation every 20 steps, a checkpoint every 50, keep 2), then `own` with rl_rollout_keys inserted
// after its first `own_first` keys.
RunKeys rl_command_keys(const char* data_help, const char* batch_help, RunKeys own, size_t own_first,
                        const nlohmann::json& default_reward);

struct RlRolloutConfig : FinetuneConfig {
  int64_t max_new_tokens = 128, eval_prompts = 0, slots = 16;
  float temperature = 1, top_p = 1;
  int top_k = 0;
  std::vector<std::string> rewards;  // --reward specs (eval/rewards.h)
  double reward_timeout_s = 300;
};

// After parse_finetune_config(c, ...).
void parse_rl_rollout_config(RlRolloutConfig& c, const std::string& where);
// Sets "steps" (and warmup) when the run did not give them: epochs x train_prompts / batch rollout
// batches (rounded up) of steps_per_batch optimiser steps each.
void resolve_rl_steps(RlRolloutConfig& c, int64_t train_prompts, int64_t steps_per_batch);

}  // namespace baimo::train
