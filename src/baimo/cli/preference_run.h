// What `baimo rm train` and `baimo dpo` share around their objectives: the preference pairs read,
// rendered with the run's chat template and split (or --eval-data held out), the objective's options,
// the held-out pairs written to OUT/held_out.jsonl ({"prompt": [messages], "chosen", "rejected"},
// what `rm score` and other tools read), and the run once the objective is built.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "baimo/cli/finetune_run.h"
#include "baimo/data/preference_examples.h"
#include "baimo/data/preference_records.h"
#include "baimo/train/objectives/pair_objective.h"
#include "baimo/train/preference_config.h"

namespace baimo::cli {

struct PreferenceData {
  std::vector<PreferenceRecord> records, eval_records;
  PreferenceSplit split;
};
PreferenceData load_preference_data(const train::PreferenceConfig& cfg, const FinetuneTokenizer& ft);

train::PairObjectiveOptions pair_objective_options(const train::PreferenceConfig& cfg, const FinetuneTokenizer& ft);

void write_held_out_pairs(const train::PreferenceConfig& cfg, const PreferenceData& data);

// The run once its objective is built (steps resolved): the run files and held-out pairs, the trainer
// (resume, the held-out evaluation before the first step), a summary line "STAGE (full|LoRA): ...",
// the steps with progress, and OUT/final (save_final_model, `merge_adapter` as there).
void train_preference_objective(train::PreferenceConfig& cfg, const FinetuneTokenizer& ft, const PreferenceData& data,
                                Transformer& model, const std::optional<LoraAdapter>& adapter,
                                train::Objective& objective, const std::string& stage, bool merge_adapter);

}  // namespace baimo::cli
