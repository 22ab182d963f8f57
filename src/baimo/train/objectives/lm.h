// LmObjective: next-token prediction on token shards (pretraining), the Trainer's first objective.
// Micro-batch: `batch` windows of seq+1 tokens from the train sampler (data/token_shards.h), the
// global micro-batch being windows [p, p + batch) of the sampler's stream; rank r of world w takes rows
// [r*batch/w, (r+1)*batch/w). ids (rows, seq) = window[0..seq), targets (rows, seq) = window[1..seq];
// loss = mean cross-entropy over the non-ignored targets (count = rows * seq for token shards).
// Contract:
// - One module, "model": the Transformer's parameters, AdamW groups of train/param_groups.h, saved as a
//   Hugging Face model directory (with tokenizer_json copied in when set).
// - state(): {"sampler_seed", "sampler_position"}; a rollback keeps the sampler where it is (the
//   windows since the checkpoint are skipped) and notes {"skipped_windows": [from, to]}.
// - evaluate(): mean loss over eval_batches fixed windows of the validation set (or the train set if
//   none), this rank's rows of each; the same windows at every evaluation.
// - Test hook: micro-batches that contain a window numbered in [poison_begin, poison_end) of the train
//   stream have their loss (and so their gradient) multiplied by poison_scale (NaN allowed).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "baimo/data/token_shards.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objective.h"

namespace baimo::train {

struct LmObjectiveOptions {
  int64_t batch = 8, seq = 256;  // batch = global rows per micro-step
  int64_t grad_accum = 1;        // micro-batches per step (the draw buffers)
  int64_t eval_batches = 8;
  uint64_t seed = 0;
  std::string tokenizer_json;    // copied into every checkpoint when set
  uint64_t poison_begin = 0, poison_end = 0;
  float poison_scale = 1.0f;
  int rank = 0, world = 1;
};

class LmObjective : public Objective {
 public:
  LmObjective(Transformer& model, const TokenDataset& train, const TokenDataset* val, LmObjectiveOptions opts);
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override;
  double flops_per_token() const override;
  uint64_t sampler_position() const { return sampler_->position(); }

 protected:
  // The loss of one micro-batch, ids and targets I32 (rows, seq): the next-token cross-entropy;
  // distillation (objectives/distill.h) replaces it. evaluate() keeps the cross-entropy.
  virtual MicroLoss batch_loss(const Tensor& ids, const Tensor& targets);
  Transformer& model() const { return model_; }

 private:
  struct Micro {
    std::vector<int32_t> ids, targets;  // (rows, seq) each
    float scale = 1.0f;                 // the poison hook
  };
  Transformer& model_;
  const TokenDataset& train_;
  const TokenDataset* val_;
  LmObjectiveOptions opts_;
  std::unique_ptr<WindowSampler> sampler_;
  std::vector<int32_t> windows_;
  std::vector<Micro> micro_;
};

}  // namespace baimo::train
