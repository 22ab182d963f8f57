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
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "baimo/cli/command.h"
#include "baimo/cli/finetune_run.h"
#include "baimo/cli/rl_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/data/sft_examples.h"
#include "baimo/eval/chat_prompts.h"
#include "baimo/eval/rewards.h"
#include "baimo/infer/inference_model.h"
#include "baimo/train/grpo_config.h"
#include "baimo/train/mfu.h"
#include "baimo/train/objectives/grpo.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
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

  eval::RewardContext rctx;
  rctx.chat_template = chat_template_name(ft.kind);
  rctx.timeout_s = cfg.reward_timeout_s;
  std::vector<eval::WeightedReward> rewards = eval::parse_rewards(cfg.rewards, rctx);
  train::RewardFn reward_fn = make_reward_fn(rewards, prompts);

  train::TrainerOptions& topt = cfg.settings.trainer;
  train::GrpoObjectiveOptions o;
  o.prompts = cfg.batch;
  o.group = cfg.group;
  o.grad_accum = topt.grad_accum;
  o.iterations = cfg.iterations;
  o.rollout.slots = static_cast<int>(cfg.slots);
  o.rollout.ctx = cfg.max_len;
  o.rollout.max_new_tokens = static_cast<int>(cfg.max_new_tokens);
  o.rollout.temperature = cfg.temperature;
  o.rollout.top_p = cfg.top_p;
  o.rollout.top_k = cfg.top_k;
  o.rollout.eos_ids = end_ids(ft, model.config());
  o.rollout.stop = {chat_end_of_turn(ft.kind)};
  o.loss = cfg.loss;
  o.scale_rewards = cfg.scale_rewards;
  o.eval_prompts = cfg.eval_prompts;
  o.seed = cfg.settings.seed;
  o.module.tokenizer_json = run_tokenizer_path(cfg);
  o.module.base_model = fs::absolute(cfg.model).lexically_normal().string();
  o.module.decay_lora = topt.weight_decay > 0;
  o.rank = topt.rank;
  o.world = topt.world;
  // Non-owning: ft outlives the objective.
  const std::shared_ptr<const Tokenizer> tokenizer(std::shared_ptr<const void>{}, &ft.tok);
  train::GrpoObjective objective(model, adapter ? &*adapter : nullptr, tokenizer, prompts.train_ids,
                                 prompts.held_out_ids, reward_fn, o);
  train::resolve_grpo_steps(cfg, static_cast<int64_t>(prompts.train.size()));

  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();
  write_run_files(cfg, ft, train::finetune_path_keys());
  write_held_out_prompts(cfg, prompts);
  train::Trainer trainer(objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  const ModelConfig& mc = model.config();
  const int64_t trainable = adapter ? adapter->numel() : mc.parameter_count();
  std::printf("grpo (%s): %.2fM parameters, %.3fM trainable (%.2f%%), %lld steps, %lld prompts x %lld samples per "
              "rollout batch, %lld step(s) each (%zu training / %zu held-out prompts), beta %g, loss %s, rewards %s, "
              "lr %g -> %g, %d threads\n",
              adapter ? "LoRA" : "full", mc.parameter_count() / 1e6, trainable / 1e6,
              100.0 * trainable / std::max<int64_t>(1, mc.parameter_count()), static_cast<long long>(topt.steps),
              static_cast<long long>(cfg.batch), static_cast<long long>(cfg.group),
              static_cast<long long>(cfg.iterations), prompts.train.size(), prompts.held_out.size(), cfg.loss.beta,
              train::loss_norm_name(cfg.loss.norm), fmt::format("{}", fmt::join(cfg.rewards, " + ")).c_str(), topt.lr,
              topt.min_lr, omp_get_max_threads());
  if (!resumed && !prompts.held_out.empty()) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);
  save_final_model(cfg, model, adapter);
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
