// PretrainConfig: every setting of `baimo pretrain`, from a run-config JSON object and/or flags
// (train/run_config.h: defaults < --run-config file < flags).
// Contract:
// - pretrain_keys(): the trainer's keys (run_config.h trainer_keys) plus config, data, init, batch, seq,
//   eval_batches and the debug poison hook; the CLI registers one flag per key.
// - parse_pretrain_config turns the merged object into PretrainConfig and checks consistency (the
//   trainer's checks, positive sizes, A:B poison windows, "data" required); errors name the key and
//   the source. merged (with resolved defaults) is the object saved as run_dir/run_config.json, which
//   --run-config reads back.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/lm_trainer.h"
#include "baimo/train/run_config.h"

namespace baimo::train {

using PretrainKey = RunKey;
const RunKeys& pretrain_keys();
// The path keys run_config.json stores absolute.
const std::vector<std::string>& pretrain_path_keys();

struct PretrainConfig {
  std::string config, data, out, init;
  std::string resume_from;  // a checkpoint directory ("" = the newest in out); implies resume
  bool resume = false;
  int threads = 0;  // 0 = all cores
  bool grad_checkpoint = false;  // Transformer::set_grad_checkpoint
  LmTrainOptions train;
  nlohmann::json merged;  // the effective settings (saved as run_config.json)
};

inline nlohmann::json pretrain_defaults() { return run_defaults(pretrain_keys()); }
inline void apply_run_config(nlohmann::json& into, const nlohmann::json& file, const std::string& where) {
  apply_run_config(into, file, pretrain_keys(), where);
}
inline nlohmann::json absolute_paths(const nlohmann::json& merged) { return absolute_paths(merged, pretrain_path_keys()); }
// Checks and converts; `where` names the source in errors (e.g. "run config").
PretrainConfig parse_pretrain_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
