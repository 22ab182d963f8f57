// Objective: what a training stage computes, driven by train::Trainer (trainer.h). Pretraining (lm),
// and later SFT, reward model, DPO, PPO, GRPO and distillation are objectives.
// Contract (the Trainer calls, per optimisation step, on every rank):
//   1. draw(micro) for micro = 0..grad_accum-1: picks this rank's data of micro-batch `micro` of the
//      next step (no compute) and returns its count of loss terms (the LM: non-ignored target tokens).
//      Drawing is the ONLY place where the objective's data position moves; with world > 1 ranks,
//      rank r takes its share of the global micro-batch (the objective knows rank and world).
//   2. forward(micro) for every micro-batch with a non-zero count: the MEAN loss over its count terms
//      as a scalar Var recorded on the tape, plus named metrics (means over the same terms). The
//      Trainer weighs each micro-batch by count / (all terms of the global batch): the step's loss and
//      gradient are those of one big batch, whatever the split into micro-batches and ranks.
//   - modules(): the parameters it trains (and, frozen, holds), as named checkpoint modules with
//     their AdamW groups; module 0 sits at the top of a checkpoint (checkpoint.h). Called once.
//   - state() / restore(): everything besides the weights that a bit-identical resume needs (e.g. the
//     sampler position), as JSON; restore(…, rollback = true) is a spike-guard rollback: the objective
//     keeps its data position (the data since the checkpoint is skipped) and returns fields for the
//     rollback event in metrics.jsonl (e.g. {"skipped_windows": [a, b]}).
//   - trajectory(): the settings a resumed run must keep (e.g. batch, seq, seed), checked on resume.
//   - evaluate(): this rank's validation loss (the Trainer averages over ranks), or nullopt when the
//     objective has none; must not move the training data position. eval_metrics(): named validation
//     metrics of the last evaluate() (e.g. a reward model's pairwise accuracy), averaged over ranks
//     and logged as "val_<name>". token_loss(): the loss is a cross-entropy per token (the Trainer
//     then also logs the validation perplexity).
//   - tokens_per_micro_batch() (global, all ranks) and flops_per_token() feed tokens/s and MFU.
//   - loss_has_scale(): the loss is positive with a typical size, so "far above its running mean" is a
//     spike (cross-entropy, preference losses); false for losses that sit around 0 or change sign
//     (policy gradients): the Trainer's spike guard then rejects only non-finite losses and gradients.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/autograd/var.h"
#include "baimo/train/checkpoint.h"
#include "baimo/train/optimizer.h"

namespace baimo::train {

// A module the Trainer checkpoints; trainable when groups is non-empty (the Trainer makes its AdamW).
struct TrainModule {
  std::string name;
  std::vector<std::pair<std::string, ag::Var>> params;  // every parameter, named as in the files
  std::vector<ParamGroup> groups;                       // AdamW groups over params (empty: frozen)
  std::function<void(const std::string& dir)> save_dir, load_dir;  // optional (CheckpointModule)
};

struct MicroLoss {
  ag::Var loss;                                        // (1): mean over the micro-batch's terms
  std::vector<std::pair<std::string, float>> metrics;  // named means over the same terms
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::vector<TrainModule> modules() = 0;
  virtual int64_t draw(int64_t micro) = 0;
  virtual MicroLoss forward(int64_t micro) = 0;
  virtual std::optional<float> evaluate() { return std::nullopt; }
  virtual std::vector<std::pair<std::string, float>> eval_metrics() const { return {}; }
  virtual bool token_loss() const { return true; }
  virtual bool loss_has_scale() const { return true; }
  virtual nlohmann::json state() const = 0;
  virtual nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) = 0;
  virtual nlohmann::json trajectory() const = 0;
  virtual double tokens_per_micro_batch() const = 0;
  virtual double flops_per_token() const { return 0; }
};

}  // namespace baimo::train
