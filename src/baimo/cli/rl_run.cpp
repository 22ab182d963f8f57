#include "baimo/cli/rl_run.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "baimo/cli/train_run.h"
#include "baimo/data/sft_examples.h"
#include "baimo/infer/inference_model.h"
#include "baimo/train/mfu.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

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

std::vector<eval::ChatPrompt> read_prompt_files(const std::vector<std::string>& files) {
  std::vector<eval::ChatPrompt> out;
  for (const std::string& f : files)
    for (eval::ChatPrompt& p : eval::read_chat_prompts(f)) out.push_back(std::move(p));
  return out;
}

}  // namespace

// Every --data prompt; held out: --eval-data's, else a seeded val_fraction of them.
PromptSet load_prompts(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft) {
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

void write_held_out_prompts(const train::RlRolloutConfig& cfg, const PromptSet& s) {
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

train::RewardFn make_reward_fn(std::vector<eval::WeightedReward>& rewards, const PromptSet& prompts) {
  return [&rewards, &prompts](std::span<const size_t> ids, std::span<const RolloutSample> samples, bool held_out) {
    const std::vector<eval::ChatPrompt>& from = held_out ? prompts.held_out : prompts.train;
    std::vector<eval::RewardItem> items;
    items.reserve(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) items.push_back(reward_item(from.at(ids[i]), samples[i]));
    eval::RewardScores scores = eval::score_rewards(rewards, items);
    return train::RolloutRewards{std::move(scores.total), std::move(scores.parts)};
  };
}

std::vector<eval::WeightedReward> parse_run_rewards(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft) {
  eval::RewardContext rctx;
  rctx.chat_template = chat_template_name(ft.kind);
  rctx.timeout_s = cfg.reward_timeout_s;
  return eval::parse_rewards(cfg.rewards, rctx);
}

RolloutOptions rollout_options(const train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft, const ModelConfig& mc) {
  RolloutOptions o;
  o.slots = static_cast<int>(cfg.slots);
  o.ctx = cfg.max_len;
  o.max_new_tokens = static_cast<int>(cfg.max_new_tokens);
  o.temperature = cfg.temperature;
  o.top_p = cfg.top_p;
  o.top_k = cfg.top_k;
  o.eos_ids = end_ids(ft, mc);
  o.stop = {chat_end_of_turn(ft.kind)};
  return o;
}

train::FinetuneModuleOptions policy_module_options(const train::RlRolloutConfig& cfg) {
  train::FinetuneModuleOptions m;
  m.tokenizer_json = run_tokenizer_path(cfg);
  m.base_model = fs::absolute(cfg.model).lexically_normal().string();
  m.decay_lora = cfg.settings.trainer.weight_decay > 0;
  return m;
}

void run_rl_objective(train::RlRolloutConfig& cfg, const FinetuneTokenizer& ft, const PromptSet& prompts,
                      Transformer& model, const std::optional<LoraAdapter>& adapter, train::Objective& objective,
                      const std::string& stage, const std::string& extra, const std::string& what) {
  train::TrainerOptions& topt = cfg.settings.trainer;
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();
  write_run_files(cfg, ft, train::finetune_path_keys());
  write_held_out_prompts(cfg, prompts);
  train::Trainer trainer(objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  const ModelConfig& mc = model.config();
  const int64_t trainable = adapter ? adapter->numel() : mc.parameter_count();
  std::printf("%s (%s): %.2fM parameters, %.3fM trainable (%.2f%%)%s, %lld steps, %s, rewards %s, lr %g -> %g, "
              "%d threads\n",
              stage.c_str(), adapter ? "LoRA" : "full", mc.parameter_count() / 1e6, trainable / 1e6,
              100.0 * trainable / std::max<int64_t>(1, mc.parameter_count()), extra.c_str(),
              static_cast<long long>(topt.steps), what.c_str(), fmt::format("{}", fmt::join(cfg.rewards, " + ")).c_str(),
              topt.lr, topt.min_lr, omp_get_max_threads());
  if (!resumed && !prompts.held_out.empty()) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);
  save_final_model(cfg, model, adapter);
}

}  // namespace baimo::cli
