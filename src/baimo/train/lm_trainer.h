// LmTrainer: the next-token-prediction training loop over token shards.
// Each step: grad_accum micro-batches of (batch, seq) windows from the train sampler, mean
// cross-entropy, backward, global-norm clipping, AdamW with the warmup + cosine schedule.
// Every eval_interval steps (and at the end) the validation loss over eval_batches fixed windows.
// Every step's metrics go to the callback and, when out_dir is set, to out_dir/metrics.jsonl.
// Stops at `steps` or when time_budget_s (> 0) has elapsed, whichever comes first.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "baimo/data/token_shards.h"
#include "baimo/model/transformer.h"

namespace baimo::train {

struct LmTrainOptions {
  int64_t steps = 1000;
  int64_t batch = 8, seq = 256, grad_accum = 1;
  float lr = 3e-4f, min_lr = 3e-5f;
  int64_t warmup = 100;
  float weight_decay = 0.1f, clip = 1.0f;
  float beta1 = 0.9f, beta2 = 0.95f;
  int64_t eval_interval = 100, eval_batches = 8;
  double time_budget_s = 0;  // 0 = no limit
  uint64_t seed = 0;
  std::string out_dir;       // metrics.jsonl goes here when set
};

struct StepMetrics {
  int64_t step = 0;          // 1-based, steps done
  float loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0;
  bool has_val = false;
  float val_loss = 0;
};

class LmTrainer {
 public:
  LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val, LmTrainOptions opts);
  // Runs to completion; on_step is called after every step (with val_loss on eval steps).
  void run(const std::function<void(const StepMetrics&)>& on_step);
  // Mean loss over eval_batches fixed windows of the validation set (or the train set if none).
  float evaluate();

 private:
  Transformer& model_;
  const TokenDataset& train_;
  const TokenDataset* val_;
  LmTrainOptions opts_;
};

}  // namespace baimo::train
