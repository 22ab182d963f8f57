// What `baimo rm train` and `baimo dpo` share around their objectives: the preference pairs read,
// rendered with the run's chat template and split (or --eval-data held out), the objective's options,
// the held-out pairs written to OUT/held_out.jsonl ({"prompt": [messages], "chosen", "rejected"},
// what `rm score` and other tools read), and the final model or adapter saved to OUT/final.
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

// "rm (full): 10.1M parameters, ... trainable, N steps of B pairs ..."
void print_run_summary(const char* stage, const train::PreferenceConfig& cfg, const Transformer& model,
                       const std::optional<LoraAdapter>& adapter, size_t train_pairs);

}  // namespace baimo::cli
