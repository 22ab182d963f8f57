// Training checkpoints of named modules: run_dir/checkpoints/step_NNNNNNN/ holds
//   trainer_state.json      the trainer's own state (an object with at least "step"; see trainer.h),
//                           plus "modules": the module names in order (written by save_checkpoint)
//   module 0 (e.g. "policy", or the LM's "model") at the top level, so that a single-module LM
//   checkpoint is a loadable Hugging Face model directory as it always was:
//     config.json, model.safetensors, generation_config.json (+ tokenizer.json)   (its save_dir hook)
//     or model.safetensors of its named parameters (F32) when it has no hook
//     optimizer.safetensors   AdamW moments "exp_avg/<param>" and "exp_avg_sq/<param>" (F32, the
//                             parameter's shape), metadata {"format": "baimo-adamw-v1", "step": "<n>"};
//                             absent for a frozen module (no optimizer)
//   modules/<name>/         every further module (e.g. "value", "reference", "lora"): the same files
// Contract:
// - save_checkpoint writes every file (each fsynced) into run_dir/checkpoints/.tmp_step_NNNNNNN.<pid>,
//   fsyncs it, renames it to step_NNNNNNN and fsyncs checkpoints/: a kill at any moment leaves every
//   earlier checkpoint intact and either no step_NNNNNNN or a complete one. An existing directory of
//   the same step is moved aside (.tmp_old_*) before the new one is renamed in, then removed. Env BAIMO_TEST_CHECKPOINT_DELAY_MS (tests) sleeps before each file
//   and before the rename, so a test can kill the writer in the middle.
// - list_checkpoints: the complete step_* directories, ascending by step (temp leftovers ignored);
//   clean_checkpoint_temps removes .tmp_* leftovers; prune_checkpoints keeps the newest `keep`
//   (each doomed one renamed to .tmp_pruned_* before removal: never a partial step_* directory).
// - load_checkpoint: checks the module names (when the state lists them), each module's weights
//   (its load_dir hook: e.g. config.json equals the model's config; else every parameter present with
//   its shape and nothing else), both moments of every optimizer parameter with their shapes and
//   nothing else, the optimizer step, and that trainer_state.json is a JSON object whose "step" matches
//   the directory; copies weights and moments in and returns the state. Any violation throws
//   baimo::Error naming the file and the tensor or field.
// - The Transformer overloads are the single-module case (module "model", the model directory at the top).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"

namespace baimo {

struct CheckpointRef {
  int64_t step = 0;
  std::string path;
};

// One named module of a checkpoint. The Vars are shared handles: loading writes into the live parameters.
struct CheckpointModule {
  std::string name;                                     // "policy", "value", ... (a file-name-safe word)
  std::vector<std::pair<std::string, ag::Var>> params;  // parameter name -> f32 parameter
  train::AdamW* optimizer = nullptr;                    // over a subset of params; null = frozen
  // Optional model-directory hooks (the LM: Transformer::save, and a config check + load): when set,
  // they write / read the weights in `dir` instead of model.safetensors of `params`.
  std::function<void(const std::string& dir)> save_dir;
  std::function<void(const std::string& dir)> load_dir;
};

// A Transformer as a module: its parameters by HF name, saved as a model directory (model_opts).
CheckpointModule transformer_module(std::string name, const Transformer& model, train::AdamW* opt,
                                    const ModelDirSave& model_opts = {});

std::string checkpoint_name(int64_t step);  // "step_0000123"

// Returns the final directory path. modules must not be empty; names unique.
std::string save_checkpoint(const std::string& run_dir, int64_t step, std::span<const CheckpointModule> modules,
                            const nlohmann::json& trainer_state);
std::string save_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model,
                            const train::AdamW& opt, const nlohmann::json& trainer_state,
                            const ModelDirSave& model_opts = {});

std::vector<CheckpointRef> list_checkpoints(const std::string& run_dir);
std::optional<CheckpointRef> latest_checkpoint(const std::string& run_dir);
void clean_checkpoint_temps(const std::string& run_dir);
void prune_checkpoints(const std::string& run_dir, int64_t keep);  // keep <= 0: keep all
void clear_checkpoints(const std::string& run_dir);                // removes every step_* (a fresh run)
// Removes the step_* directories with a step above `step` (resuming from an older checkpoint).
void remove_checkpoints_after(const std::string& run_dir, int64_t step);
// The step of a checkpoint directory's name (".../step_0000123" -> 123); nullopt for another name.
std::optional<int64_t> checkpoint_step(const std::string& dir);

// Loads into existing modules (same shapes) and their optimizers (built over those parameters).
nlohmann::json load_checkpoint(const std::string& dir, std::span<const CheckpointModule> modules);
nlohmann::json load_checkpoint(const std::string& dir, Transformer& model, train::AdamW& opt);

}  // namespace baimo
