// PretrainConfig: every setting of `baimo pretrain`, from a run-config JSON object and/or flags.
// Keys are the flag names without "--" and with '_' for '-' ("grad_accum" = --grad-accum).
// Contract:
// - pretrain_keys(): the table of keys (name, kind, default, help) the CLI registers flags from.
// - merge: start from the defaults, apply a run-config file (unknown key or a value of the wrong
//   type = baimo::Error naming the file and the key), then apply the flags given on the command
//   line (strings; a value that does not parse = error naming the flag).
// - parse_pretrain_config turns the merged object into PretrainConfig and checks consistency
//   (warmup <= steps when warmup is given; when it is not (null, the default) it is min(100, steps/10)
//   and merged holds that value; 0 <= min_lr <= lr, schedule cosine|wsd, positive sizes, A:B poison windows...);
//   errors name the key and the source. to_json() is the object saved as run_dir/run_config.json,
//   which --run-config reads back.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/lm_trainer.h"

namespace baimo::train {

enum class KeyKind { Int, Num, Str, Bool };

struct PretrainKey {
  const char* name;  // JSON key; the flag is "--" + name with '-' for '_'
  KeyKind kind;
  nlohmann::json default_value;
  const char* help;
};

const std::vector<PretrainKey>& pretrain_keys();
std::string flag_name(const PretrainKey& k);

struct PretrainConfig {
  std::string config, data, out, init;
  std::string resume_from;  // a checkpoint directory ("" = the newest in out); implies resume
  bool resume = false;
  int threads = 0;  // 0 = all cores
  LmTrainOptions train;
  nlohmann::json merged;  // the effective settings (saved as run_config.json)
};

// The defaults of every key.
nlohmann::json pretrain_defaults();
// Applies a run-config file's object on top of `into`; `where` names the file.
void apply_run_config(nlohmann::json& into, const nlohmann::json& file, const std::string& where);
// Applies one flag's text value on top of `into`.
void apply_flag(nlohmann::json& into, const PretrainKey& key, const std::string& text);
// The settings with every path (config, data, out, init, resume_from) made absolute against the
// current directory: what run_config.json stores, so that --resume works from any directory.
nlohmann::json absolute_paths(const nlohmann::json& merged);
// Checks and converts; `where` names the source in errors (e.g. "run config").
PretrainConfig parse_pretrain_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
