// baimo grpo --model SFT_MODEL --data PROMPTS... --out DIR [--reward match ...] [--group 8] [--batch 8]
//            [--iterations 1] [--max-new-tokens 128] [--temperature 1] [--beta 0.04] [--epsilon 0.2]
//            [--epsilon-high E] [--loss-norm grpo|dapo|dr_grpo] [--no-scale-rewards] [--lora ...]
//            [--eval-data FILE...] [--steps N | --epochs 1] [--run-config FILE.json] ...
// Reinforcement learning with verifiable (or model, or external) rewards: the Trainer over the GRPO
// objective (train/objectives/grpo.h). Each rollout batch: --batch prompts, --group answers each,
// sampled by baimo's engine from the live policy weights (infer/rollout.h), scored by the rewards
// (eval/rewards.h, summed with their weights), advantages relative to the group; the clipped loss
// with the k3 KL to the start model (with LoRA: the base with the adapter off). Prompts are rendered
// with the model's chat template (as sft, chat and serve do); a rollout ends at the end-of-turn token.
// Every trainer feature works: exact resume after kill -9 (--resume), spike guard, mpirun (each rank
// samples its share of the prompts), --time-budget, metrics.jsonl (reward, kl, clip ratios, stop
// share, times: `baimo plot OUT --metric reward`). Writes OUT/run_config.json, OUT/tokenizer/,
// OUT/held_out.jsonl (the held-out prompts), OUT/checkpoints/step_N and OUT/final.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/cli/command.h"
#include "baimo/cli/finetune_run.h"
#include "baimo/cli/rl_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/eval/rewards.h"
#include "baimo/train/grpo_config.h"
#include "baimo/train/objectives/grpo.h"

namespace baimo::cli {
namespace {
using json = nlohmann::json;

void run_grpo(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::grpo_keys(), where);
  train::GrpoConfig cfg = train::parse_grpo_config(merged, where);
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  const PromptSet prompts = load_prompts(cfg, ft);
  std::optional<LoraAdapter> adapter;
  Transformer model = load_finetune_model(cfg, ft, adapter);
  if (cfg.settings.grad_checkpoint) model.set_grad_checkpoint(true);

  std::vector<eval::WeightedReward> rewards = parse_run_rewards(cfg, ft);
  train::RewardFn reward_fn = make_reward_fn(rewards, prompts);

  train::GrpoObjectiveOptions o;
  o.prompts = cfg.batch;
  o.group = cfg.group;
  o.grad_accum = cfg.settings.trainer.grad_accum;
  o.iterations = cfg.iterations;
  o.rollout = rollout_options(cfg, ft, model.config());
  o.loss = cfg.loss;
  o.scale_rewards = cfg.scale_rewards;
  o.eval_prompts = cfg.eval_prompts;
  o.seed = cfg.settings.seed;
  o.module = policy_module_options(cfg);
  o.rank = cfg.settings.trainer.rank;
  o.world = cfg.settings.trainer.world;
  // Non-owning: ft outlives the objective.
  const std::shared_ptr<const Tokenizer> tokenizer(std::shared_ptr<const void>{}, &ft.tok);
  train::GrpoObjective objective(model, adapter ? &*adapter : nullptr, tokenizer, prompts.train_ids,
                                 prompts.held_out_ids, reward_fn, o);
  train::resolve_rl_steps(cfg, static_cast<int64_t>(prompts.train.size()), cfg.iterations);
  run_rl_objective(cfg, ft, prompts, model, adapter, objective, "grpo", "",
                   fmt::format("{} prompts x {} samples per rollout batch, {} step(s) each ({} training / {} held-out "
                               "prompts), beta {}, loss {}",
                               cfg.batch, cfg.group, cfg.iterations, prompts.train.size(), prompts.held_out.size(),
                               cfg.loss.beta, train::loss_norm_name(cfg.loss.norm)));
}

}  // namespace

BAIMO_COMMAND(47, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("grpo", "Reinforcement learning (GRPO): answers sampled from the live policy, scored "
                                          "by verifiable, model or external rewards, on a KL leash to the start model");
  add_run_flags(sub, train::grpo_keys(), *flags);
  sub->callback([flags] { run_grpo(*flags); });
});

}  // namespace baimo::cli
