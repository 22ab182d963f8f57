// LmTrainer: pretraining = the generic Trainer (trainer.h) driving the LM objective (objectives/lm.h),
// with one flat set of options (what `baimo pretrain` and `baimo demo` configure).
// Contract: everything trainer.h and objectives/lm.h promise: deterministic steps, token-weighted
// grad accumulation, checkpoints of the module "model" (a loadable model directory + optimizer.safetensors
// + trainer_state.json) with exact resume after kill -9, the spike guard with rollback, metrics.jsonl,
// data parallel over MPI (allreduce_mean and allreduce_sum set, rank and world given).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/data/token_shards.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objectives/lm.h"
#include "baimo/train/trainer.h"

namespace baimo::train {

// The Trainer's options (trainer.h) plus the LM objective's (objectives/lm.h).
struct LmTrainOptions : TrainerOptions {
  int64_t batch = 8, seq = 256;  // batch = global rows per micro-step
  int64_t eval_batches = 8;
  uint64_t seed = 0;
  std::string tokenizer_json;    // copied into every checkpoint when set
  // Test hook (objectives/lm.h): windows [poison_begin, poison_end) get their loss scaled.
  uint64_t poison_begin = 0, poison_end = 0;
  float poison_scale = 1.0f;
};

LmObjectiveOptions lm_objective_options(const LmTrainOptions& o);

class LmTrainer {
 public:
  LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val, const LmTrainOptions& opts);
  // See Trainer::resume (from = a checkpoint directory, "" = the newest in out_dir).
  std::optional<int64_t> resume(const std::string& from = "") { return trainer_->resume(from); }
  void run(const std::function<void(const StepMetrics&)>& on_step) { trainer_->run(on_step); }
  // Mean loss over eval_batches fixed windows of the validation set (or the train set if none).
  float evaluate() { return *trainer_->evaluate(); }
  int64_t step() const { return trainer_->step(); }
  bool is_root() const { return trainer_->is_root(); }
  const AdamW& optimizer() const { return trainer_->optimizer(0); }
  uint64_t sampler_position() const { return objective_->sampler_position(); }
  std::string save_checkpoint_now() { return trainer_->save_checkpoint_now(); }
  Trainer& trainer() { return *trainer_; }

 private:
  std::unique_ptr<LmObjective> objective_;
  std::unique_ptr<Trainer> trainer_;
};

}  // namespace baimo::train
