// Run settings of a training command (`baimo pretrain`, `baimo sft`, ...) from a run-config JSON object
// and/or flags. A command describes its settings as a table of RunKeys; keys are the flag names without
// "--" and with '_' for '-' ("grad_accum" = --grad-accum).
// Contract:
// - Merge order: run_defaults(keys) < apply_run_config (a file's object: an unknown key or a value of
//   the wrong type is a baimo::Error naming the file and the key) < apply_flag (text; a value that
//   does not parse is an error naming the flag). A key whose default is null may be set to null.
// - trainer_keys(overrides): the settings every Trainer run shares (out, resume, steps, lr, schedule,
//   AdamW, clipping, evaluation and checkpoint intervals, seed, threads, time budget, spike guard,
//   activation checkpointing);
//   `overrides` replaces defaults by key (a stage's own recipe, e.g. SFT's lower lr).
// - parse_trainer_settings checks and converts those keys into TrainerOptions (+ seed, threads,
//   resume); warmup null means min(100, steps/10), written back into `merged` so that a resume with
//   other steps keeps the schedule.
// - absolute_paths: the listed path keys made absolute (what run_config.json stores, so that --resume
//   works from any directory).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/trainer.h"

namespace baimo::train {

enum class KeyKind { Int, Num, Str, Bool, List };  // List: strings (a flag that takes several values)

struct RunKey {
  const char* name;  // JSON key; the flag is "--" + name with '-' for '_'
  KeyKind kind;
  nlohmann::json default_value;
  const char* help;
};
using RunKeys = std::vector<RunKey>;

std::string flag_name(const RunKey& k);
nlohmann::json run_defaults(const RunKeys& keys);
void apply_run_config(nlohmann::json& into, const nlohmann::json& file, const RunKeys& keys, const std::string& where);
void apply_flag(nlohmann::json& into, const RunKey& key, const std::string& text);
void apply_flag(nlohmann::json& into, const RunKey& key, const std::vector<std::string>& values);  // List keys
nlohmann::json absolute_paths(const nlohmann::json& merged, const std::vector<std::string>& path_keys);

RunKeys trainer_keys(const nlohmann::json& overrides = nlohmann::json::object());

struct TrainerSettings {
  TrainerOptions trainer;
  uint64_t seed = 0;
  int threads = 0;  // 0 = all cores
  // Activation checkpointing of the model's blocks (Transformer::set_grad_checkpoint): the command sets
  // it on the model; not a trajectory option (the same losses), so a resume may change it.
  bool grad_checkpoint = false;
  bool resume = false;
  std::string resume_from;  // a checkpoint directory ("" = the newest in out); implies resume
};
// `merged` may get resolved defaults written back (warmup).
TrainerSettings parse_trainer_settings(nlohmann::json& merged, const std::string& where);

// Typed, checked access to merged settings for a stage's own keys; errors name the key and `where`.
struct SettingsReader {
  const nlohmann::json& m;
  const std::string& where;
  int64_t i64(const char* k) const;
  int64_t positive(const char* k) const;
  int64_t non_negative(const char* k) const;
  float f32(const char* k) const;
  double f64(const char* k) const;
  std::string str(const char* k) const;
  bool flag(const char* k) const;
  std::vector<std::string> list(const char* k) const;
};

}  // namespace baimo::train
