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

struct PromptSet {
  std::vector<eval::ChatPrompt> train, held_out;
  std::vector<std::vector<int32_t>> train_ids, held_out_ids;
};

std::vector<eval::ChatPrompt> read_prompt_files(const std::vector<std::string>& files) {
  std::vector<eval::ChatPrompt> out;
  for (const std::string& f : files)
    for (eval::ChatPrompt& p : eval::read_chat_prompts(f)) out.push_back(std::move(p));
  return out;
}

// Every --data prompt; held out: --eval-data's, else a seeded val_fraction of them.
PromptSet load_prompts(const train::GrpoConfig& cfg, const FinetuneTokenizer& ft) {
  PromptSet s;
  std::vector<eval::ChatPrompt> all = read_prompt_files(cfg.data);
  if (!cfg.eval_data.empty()) {
    s.train = std::move(all);
    s.held_out = read_prompt_files(cfg.eval_data);
  } else {
    const std::vector<uint8_t> held = held_out_records(all.size(), cfg.val_fraction, cfg.settings.seed);
    for (size_t i = 0; i < all.size(); ++i) (held[i] ? s.held_out : s.train).push_back(std::move(all[i]));
  }
  const int64_t room = cfg.max_len - cfg.max_new_tokens;
  const bool need_answers = std::any_of(cfg.rewards.begin(), cfg.rewards.end(),
                                        [](const std::string& r) { return r.rfind("match", 0) == 0; });
  auto encode = [&](const std::vector<eval::ChatPrompt>& prompts, std::vector<std::vector<int32_t>>& ids) {
    for (const eval::ChatPrompt& p : prompts) {
      if (need_answers && p.answer.empty())
        fail("{}: field \"answer\" missing: the match reward compares the model's answer with it", p.where);
      ids.push_back(encode_chat_prompt(ft.tok, ft.kind, p.messages, false));
      if (static_cast<int64_t>(ids.back().size()) > room)
        fail("{}: the prompt has {} tokens; with --max-new-tokens {} it must fit in --max-len {} ({} tokens)", p.where,
             ids.back().size(), cfg.max_new_tokens, cfg.max_len, room);
    }
  };
  encode(s.train, s.train_ids);
  encode(s.held_out, s.held_out_ids);
  return s;
}

void write_held_out_prompts(const train::GrpoConfig& cfg, const PromptSet& s) {
  if (cfg.settings.trainer.rank != 0) return;
  std::string text;
  for (const eval::ChatPrompt& p : s.held_out) {
    json messages = json::array();
    for (const ChatMessage& m : p.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json rec{{"messages", messages}};
    if (!p.answer.empty()) rec["answer"] = p.answer;
    text += rec.dump() + "\n";
  }
  write_file_atomic((fs::path(cfg.settings.trainer.out_dir) / "held_out.jsonl").string(), text);
}

// The ids that end an answer: the template's end-of-turn token, the tokenizer's and the config's EOS.
std::vector<int32_t> end_ids(const FinetuneTokenizer& ft, const ModelConfig& mc) {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id) {
    if (id >= 0 && id < mc.vocab_size && std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(static_cast<int32_t>(id));
  };
  if (auto eot = ft.tok.token_to_id(chat_end_of_turn(ft.kind))) add(*eot);
  if (auto eos = ft.tok.eos_id()) add(*eos);
  for (int64_t e : mc.eos_token_ids) add(e);
  return ids;
}

eval::RewardItem reward_item(const eval::ChatPrompt& p, const RolloutSample& s) {
  eval::RewardItem it;
  it.messages = json::array();
  for (const ChatMessage& m : p.messages) it.messages.push_back({{"role", m.role}, {"content", m.content}});
  it.prompt = eval::question_text(p.messages);
  it.completion = s.text;
  it.answer = p.answer;
  it.stopped = s.stopped;
  it.tokens = static_cast<int64_t>(s.tokens.size());
  return it;
}

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
  train::RewardFn reward_fn = [&](std::span<const size_t> ids, std::span<const RolloutSample> samples, bool held_out) {
    const std::vector<eval::ChatPrompt>& from = held_out ? prompts.held_out : prompts.train;
    std::vector<eval::RewardItem> items;
    items.reserve(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) items.push_back(reward_item(from.at(ids[i]), samples[i]));
    eval::RewardScores scores = eval::score_rewards(rewards, items);
    return train::RolloutRewards{std::move(scores.total), std::move(scores.parts)};
  };

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
