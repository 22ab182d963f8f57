// What `baimo grpo` and `baimo ppo` share on the command line: the prompts (every --data prompt, the
// held-out ones from --eval-data or a seeded val_fraction, rendered with the chat template's
// generation prompt; a "match" reward needs each prompt's "answer"; each must leave room for
// --max-new-tokens in --max-len), OUT/held_out.jsonl, the ids that end an answer (the template's
// end-of-turn token, the tokenizer's and the config's EOS), and the reward callback over
// eval/rewards.h specs (their scores summed with their weights); the rollout settings and the policy's
// module options of a run, and the run once its objective is built (run_rl_objective: run files,
// held_out.jsonl, the Trainer, resume, one summary line "STAGE (full|LoRA): ... parameters, ...
// trainable (..%)EXTRA, N steps, WHAT, rewards ..., lr a -> b, T threads", the held-out evaluation
// before the first step, the steps with progress, OUT/final).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baimo/cli/finetune_run.h"
#include "baimo/eval/chat_prompts.h"
#include "baimo/eval/rewards.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/objectives/rollout_batch.h"
#include "baimo/train/rl_rollout_config.h"

namespace baimo::cli {

struct PromptSet {
  std::vector<eval::ChatPrompt> train, held_out;
  std::vector<std::vector<int32_t>> train_ids, held_out_ids;
};

PromptSet load_prompts(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft);
void write_held_out_prompts(const train::RlRolloutConfig& cfg, const PromptSet& s);
// The run's --reward specs (a reward model renders with the run's template).
std::vector<eval::WeightedReward> parse_run_rewards(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft);
// The callback scores with `rewards` (kept by reference, as `prompts`).
train::RewardFn make_reward_fn(std::vector<eval::WeightedReward>& rewards, const PromptSet& prompts);
RolloutOptions rollout_options(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft, const ModelConfig& mc);
train::FinetuneModuleOptions policy_module_options(const train::RlRolloutConfig& cfg);
void run_rl_objective(train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft, const PromptSet& prompts,
                      Transformer& model, const std::optional<LoraAdapter>& adapter, train::Objective& objective,
                      const std::string& stage, const std::string& extra, const std::string& what);

}  // namespace baimo::cli
