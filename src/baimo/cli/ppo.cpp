// baimo ppo --model SFT_MODEL --data PROMPTS... --out DIR --reward model:RM_DIR [--samples 1] [--batch 8]
//           [--ppo-epochs 4] [--mini-batches 1] [--max-new-tokens 128] [--kl-coef 0.05] [--target-kl K]
//           [--kl-estimator k1|k2|k3] [--gamma 1] [--lam 0.95] [--cliprange 0.2] [--cliprange-value 0.2]
//           [--vf-coef 0.1] [--missing-eos-penalty P] [--normalize-reward] [--value-init policy|reward]
//           [--lora ...] [--eval-data FILE...] [--steps N | --epochs 1] [--run-config FILE.json] ...
// Reinforcement learning from feedback with PPO (TRL PPOTrainer / OpenRLHF semantics): the Trainer
// over the PPO objective (train/objectives/ppo.h). Each rollout batch: --batch prompts, --samples
// answers each, sampled by baimo's engine from the live policy (infer/rollout.h), scored by the
// rewards (eval/rewards.h; typically a reward model in process, model:DIR), a per-token KL penalty to
// the start model (with LoRA: the base with the adapter off), GAE over a value model with its own
// trunk (train/objectives/value_model.h: the policy's copy, or with --value-init reward the reward
// model; LoRA: its own adapter on the shared base), then --ppo-epochs x --mini-batches clipped PPO
// steps. Every trainer feature works: exact resume after kill -9 (--resume), spike guard, mpirun,
// --time-budget, metrics.jsonl (reward, kl, kl_coef, entropy, clip ratio, value loss, ...:
// `baimo plot OUT --metric reward`). Writes OUT/run_config.json, OUT/tokenizer/, OUT/held_out.jsonl,
// OUT/checkpoints/step_N (the value model under modules/value/) and OUT/final (the policy).
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/cli/command.h"
#include "baimo/cli/finetune_run.h"
#include "baimo/cli/rl_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/train/objectives/ppo.h"
#include "baimo/train/ppo_config.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// The value model: the policy's trunk (full: a copy; LoRA: its own adapter), or the reward model of
// the first model:DIR reward.
train::ValueModel make_value_model(const train::PpoConfig& cfg, const Transformer& model) {
  if (cfg.value_init == "reward") {
    for (const std::string& spec : cfg.rewards)
      if (spec.rfind("model:", 0) == 0) {
        std::string dir = spec.substr(6);
        if (const size_t at = dir.rfind('@'); at != std::string::npos && !fs::exists(dir)) dir.resize(at);
        return train::ValueModel::from_reward_model(Transformer::load(dir), model.config());
      }
    fail("--value-init reward needs a model:DIR reward (the reward model to start the value model from)");
  }
  if (cfg.lora) return train::ValueModel::lora(model, cfg.lora_config, cfg.settings.seed + 1);
  return train::ValueModel::full(model, cfg.settings.seed + 1);
}

void run_ppo(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::ppo_keys(), where);
  train::PpoConfig cfg = train::parse_ppo_config(merged, where);
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  const PromptSet prompts = load_prompts(cfg, ft);
  std::optional<LoraAdapter> adapter;
  Transformer model = load_finetune_model(cfg, ft, adapter);
  train::ValueModel value = make_value_model(cfg, model);

  std::vector<eval::WeightedReward> rewards = parse_run_rewards(cfg, ft);
  train::RewardFn reward_fn = make_reward_fn(rewards, prompts);

  train::PpoObjectiveOptions o;
  o.prompts = cfg.batch;
  o.grad_accum = cfg.settings.trainer.grad_accum;
  o.rollout = rollout_options(cfg, ft, model.config());
  o.samples = cfg.samples;
  o.ppo_epochs = cfg.ppo_epochs;
  o.mini_batches = cfg.mini_batches;
  o.loss = cfg.loss;
  o.kl_coef = cfg.kl_coef;
  o.target_kl = cfg.target_kl;
  o.kl_horizon = cfg.kl_horizon;
  o.kl_estimator = cfg.kl_estimator;
  o.gamma = cfg.gamma;
  o.lambda = cfg.lam;
  o.missing_eos_penalty = cfg.missing_eos_penalty;
  o.normalize_reward = cfg.normalize_reward;
  o.whiten_advantages = cfg.whiten_advantages;
  o.eval_prompts = cfg.eval_prompts;
  o.seed = cfg.settings.seed;
  o.module = policy_module_options(cfg);
  o.rank = cfg.settings.trainer.rank;
  o.world = cfg.settings.trainer.world;
  // Non-owning: ft outlives the objective.
  const std::shared_ptr<const Tokenizer> tokenizer(std::shared_ptr<const void>{}, &ft.tok);
  train::PpoObjective objective(model, adapter ? &*adapter : nullptr, value, tokenizer, prompts.train_ids,
                                prompts.held_out_ids, reward_fn, o);
  train::resolve_rl_steps(cfg, static_cast<int64_t>(prompts.train.size()), cfg.ppo_epochs * cfg.mini_batches);
  const std::string kl = cfg.target_kl > 0 ? fmt::format("adaptive from {} to target {}", cfg.kl_coef, cfg.target_kl)
                                           : fmt::format("{}", cfg.kl_coef);
  run_rl_objective(
      cfg, ft, prompts, model, adapter, objective, "ppo",
      fmt::format(" + a value model ({})", cfg.value_init == "reward" ? "from the reward model"
                                           : value.is_lora()            ? "LoRA on the base"
                                                                        : "policy copy"),
      fmt::format("{} prompts x {} samples per rollout batch, {} epoch(s) x {} mini-batch(es) each ({} training / {} "
                  "held-out prompts), kl_coef {} ({})",
                  cfg.batch, cfg.samples, cfg.ppo_epochs, cfg.mini_batches, prompts.train.size(), prompts.held_out.size(),
                  kl, train::kl_estimator_name(cfg.kl_estimator)));
}

}  // namespace

BAIMO_COMMAND(48, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("ppo", "Reinforcement learning from feedback (PPO): answers sampled from the live "
                                         "policy, scored by a reward model (or any reward), a value model, a KL "
                                         "penalty to the start model");
  add_run_flags(sub, train::ppo_keys(), *flags);
  sub->callback([flags] { run_ppo(*flags); });
});

}  // namespace baimo::cli
