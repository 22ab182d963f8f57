// baimo rm train --model SFT_MODEL --data PREFS... --out DIR [--lora [...]] [--center-rewards C]
//                [--eval-data FILE...] [--max-len 1024 --max-prompt-len 512 --batch 8 --epochs 3 | --steps N] ...
// A reward model (InstructGPT step 2): the start model with a score head on its last token
// (a fresh N(0, initializer_range) head when it is a causal LM; trained further when it is already a
// reward model), trained by the Trainer over the reward objective (train/objectives/reward_model.h):
// Bradley–Terry loss on chosen / rejected pairs, accuracy and margin on train and held-out pairs.
// Settings: train/preference_config.h. Writes OUT/run_config.json, OUT/tokenizer/, OUT/held_out.jsonl,
// OUT/checkpoints/step_N and OUT/final: a Hugging Face sequence-classification directory
// (score.weight [1, hidden], *ForSequenceClassification) — with --lora, the adapter merged into it.
#include <cstdio>

#include "baimo/cli/command.h"
#include "baimo/cli/preference_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/cli/rm_command.h"
#include "baimo/model/reward_model.h"
#include "baimo/train/objectives/reward_model.h"

namespace baimo::cli {
namespace {
using json = nlohmann::json;

void run_rm_train(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::rm_keys(), where);
  train::PreferenceConfig cfg = train::parse_preference_config(merged, where, train::PreferenceStage::RewardModel);
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  PreferenceData data = load_preference_data(cfg, ft);
  std::optional<LoraAdapter> adapter;
  Transformer model = load_finetune_model(cfg, ft, adapter, [&](Transformer lm) {
    return lm.config().is_reward_model() ? lm : make_reward_model(lm, cfg.settings.seed);
  });

  train::RewardObjective objective(model, adapter ? &*adapter : nullptr, data.split.train, data.split.held_out,
                                   pair_objective_options(cfg, ft), cfg.center_rewards);
  train::resolve_finetune_steps(cfg, static_cast<int64_t>(data.split.train.size()));
  train_preference_objective(cfg, ft, data, model, adapter, objective, "rm", true);
}

}  // namespace

void add_rm_train(CLI::App* rm) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = rm->add_subcommand("train", "Train a reward model (score head, Bradley-Terry loss; full or LoRA) on "
                                          "chosen / rejected pairs");
  add_run_flags(sub, train::rm_keys(), *flags);
  sub->callback([flags] { run_rm_train(*flags); });
}

}  // namespace baimo::cli
