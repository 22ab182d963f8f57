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
#include <filesystem>

#include "baimo/cli/command.h"
#include "baimo/cli/preference_run.h"
#include "baimo/cli/rm_command.h"
#include "baimo/cli/train_run.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/reward_model.h"
#include "baimo/train/mfu.h"
#include "baimo/train/objectives/reward_model.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

void run_rm_train(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::rm_keys(), where);
  train::PreferenceConfig cfg = train::parse_preference_config(merged, where, train::PreferenceStage::RewardModel);
  train::TrainerOptions& topt = cfg.settings.trainer;
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
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();
  write_run_files(cfg, ft, train::finetune_path_keys());
  write_held_out_pairs(cfg, data);

  train::Trainer trainer(objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  print_run_summary("rm", cfg, model, adapter, data.split.train.size());
  if (!resumed && !data.split.held_out.empty()) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);

  if (topt.rank == 0) {
    const std::string final_dir = (fs::path(topt.out_dir) / "final").string();
    ModelDirSave save;
    save.tokenizer_json = run_tokenizer_path(cfg);
    if (adapter) {  // the adapter merged into the base: one reward-model directory
      model.attach_lora(nullptr);
      merge_lora(model, *adapter);
    }
    model.save(final_dir, save);
    std::printf("final reward model -> %s\n", final_dir.c_str());
  }
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
