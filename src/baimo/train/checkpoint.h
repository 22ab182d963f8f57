// Training checkpoints: run_dir/checkpoints/step_NNNNNNN/ holds
//   config.json, model.safetensors, generation_config.json (+ tokenizer.json)  -- a model directory
//   optimizer.safetensors   AdamW moments "exp_avg/<param>" and "exp_avg_sq/<param>" (F32, the
//                           parameter's shape), metadata {"format": "baimo-adamw-v1", "step": "<n>"}
//   trainer_state.json      the trainer's own state (an object with at least "step"; see lm_trainer)
// Contract:
// - save_checkpoint writes every file (each fsynced) into run_dir/checkpoints/.tmp_step_NNNNNNN.<pid>,
//   fsyncs it, renames it to step_NNNNNNN and fsyncs checkpoints/: a kill at any moment leaves every
//   earlier checkpoint intact and either no step_NNNNNNN or a complete one. An existing directory of
//   the same step is moved aside (.tmp_old_*) before the new one is renamed in, then removed. Env BAIMO_TEST_CHECKPOINT_DELAY_MS (tests) sleeps before each file
//   and before the rename, so a test can kill the writer in the middle.
// - list_checkpoints: the complete step_* directories, ascending by step (temp leftovers ignored);
//   clean_checkpoint_temps removes .tmp_* leftovers; prune_checkpoints keeps the newest `keep`
//   (each doomed one renamed to .tmp_pruned_* before removal: never a partial step_* directory).
// - load_checkpoint: checks config.json equals the model's config, every parameter and both moments
//   present with their shapes and nothing else, the optimizer step, and that trainer_state.json is
//   a JSON object whose "step" matches the directory; copies weights and moments in and returns the
//   state. Any violation throws baimo::Error naming the file and the tensor or field.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"

namespace baimo {

struct CheckpointRef {
  int64_t step = 0;
  std::string path;
};

std::string checkpoint_name(int64_t step);  // "step_0000123"

// Returns the final directory path.
std::string save_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model,
                            const train::AdamW& opt, const nlohmann::json& trainer_state,
                            const ModelDirSave& model_opts = {});

std::vector<CheckpointRef> list_checkpoints(const std::string& run_dir);
std::optional<CheckpointRef> latest_checkpoint(const std::string& run_dir);
void clean_checkpoint_temps(const std::string& run_dir);
void prune_checkpoints(const std::string& run_dir, int64_t keep);  // keep <= 0: keep all
void clear_checkpoints(const std::string& run_dir);                // removes every step_* (a fresh run)

// Loads into an existing model (same config) and optimizer (built over that model's parameters).
nlohmann::json load_checkpoint(const std::string& dir, Transformer& model, train::AdamW& opt);

}  // namespace baimo
