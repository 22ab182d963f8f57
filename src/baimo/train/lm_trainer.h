// LmTrainer: the next-token-prediction training loop over token shards.
// Each step: grad_accum micro-batches of (batch, seq) windows from the train sampler, mean
// cross-entropy, backward, global-norm clipping, AdamW with a warmup + cosine or warmup-stable-decay
// schedule. Every eval_interval steps (and at the end) the validation loss over eval_batches fixed
// windows. Stops at `steps` or when time_budget_s (> 0) has elapsed, whichever comes first.
// Contract:
// - Deterministic: the same options, data and thread count give bit-identical losses and weights.
//   The whole state (weights, AdamW moments and step, sampler position, spike-guard statistics,
//   step, rollback count) goes into checkpoints (train/checkpoint.h) under out_dir every
//   checkpoint_interval steps, at step 0 of a fresh run (which first removes older checkpoints in
//   out_dir) and at the end; resume() restores the newest
//   one so that the run continues bit-identically (kill -9 at any moment is safe).
// - Spike guard (spike_guard.h): a non-finite loss or gradient norm, or a loss above spike_factor x
//   its running mean, skips the update (the step still counts, the schedule moves on); spike_patience
//   consecutive skips roll back to the newest checkpoint, keeping the sampler where it is (the windows
//   since that checkpoint, the offending ones included, are skipped). Every skip and rollback is a line
//   in metrics.jsonl ({"event": "skip"|"rollback", ...}); more than max_rollbacks rollbacks is an error.
// - metrics.jsonl in out_dir: one line per step {"step", "loss", "lr", "grad_norm", "tokens_per_s",
//   "mfu", "eta_s", "elapsed_s", ["val_loss", "val_ppl"]}; on resume, lines after the restored step are
//   dropped first. Losses are written with full float precision (round-trip).
// - Data parallel (MPI) hooks, one place each in lm_trainer.cpp:
//   * micro-batch windows are chosen ONLY in LmTrainer::draw_micro_batch: the global batch of
//     `batch` rows per micro-step; rank r of world w takes rows [r*batch/w, (r+1)*batch/w);
//   * gradients are complete ONLY at the marked point of LmTrainer::step_once (after every backward,
//     before clipping): when options.allreduce_mean is set it is called there on the flat gradients
//     (+ the loss), e.g. [](float* p, size_t n) { Comm::world().allreduce_mean(p, n); };
//   * only rank 0 writes checkpoints, metrics and the final model (is_root()).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/data/token_shards.h"
#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/spike_guard.h"

namespace baimo::train {

enum class Schedule { Cosine, Wsd };

struct LmTrainOptions {
  int64_t steps = 1000;
  int64_t batch = 8, seq = 256, grad_accum = 1;  // batch = global rows per micro-step
  float lr = 3e-4f, min_lr = 3e-5f;
  int64_t warmup = 100;
  Schedule schedule = Schedule::Cosine;
  float decay_fraction = 0.2f;  // wsd: share of the steps spent decaying
  float weight_decay = 0.1f, clip = 1.0f;
  float beta1 = 0.9f, beta2 = 0.95f;
  int64_t eval_interval = 100, eval_batches = 8;
  int64_t checkpoint_interval = 0;  // 0 = only at the start and the end (needs out_dir)
  int64_t keep = 0;                 // checkpoints kept (0 = all)
  double time_budget_s = 0;         // 0 = no limit
  uint64_t seed = 0;
  std::string out_dir;              // metrics.jsonl and checkpoints/ go here when set
  std::string tokenizer_json;       // copied into every checkpoint when set
  SpikeGuardOptions spike;
  int64_t max_rollbacks = 10;
  double peak_gflops = 0;           // MFU reference (0 = MFU not reported)
  // Test hook: micro-batches that contain a window numbered in [poison_begin, poison_end) of the
  // train stream have their loss (and so their gradient) multiplied by poison_scale (NaN allowed).
  uint64_t poison_begin = 0, poison_end = 0;
  float poison_scale = 1.0f;
  // Data parallel: see the header comment.
  int rank = 0, world = 1;
  std::function<void(float*, size_t)> allreduce_mean;
  nlohmann::json run_config;        // stored in trainer_state.json for reference
};

struct StepMetrics {
  int64_t step = 0;          // 1-based, steps done
  float loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0, mfu = 0, eta_s = 0;
  bool skipped = false;      // the guard rejected this step's update
  std::string skip_reason;   // "nonfinite" | "spike"
  bool rolled_back = false;  // this step triggered a rollback (step is then the restored step)
  bool has_val = false;
  float val_loss = 0;
};

class LmTrainer {
 public:
  LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val, LmTrainOptions opts);
  ~LmTrainer();
  // Restores the newest complete checkpoint under out_dir (temp leftovers are removed first).
  // Returns the restored step, or nullopt when there is none (a fresh start).
  std::optional<int64_t> resume();
  // Runs to completion from the current step; on_step is called after every step.
  void run(const std::function<void(const StepMetrics&)>& on_step);
  // Mean loss over eval_batches fixed windows of the validation set (or the train set if none).
  float evaluate();
  int64_t step() const { return step_; }
  bool is_root() const { return opts_.rank == 0; }
  const AdamW& optimizer() const { return *opt_; }
  uint64_t sampler_position() const { return sampler_->position(); }
  // Writes a checkpoint of the current state (root only); returns its path ("" on other ranks).
  std::string save_checkpoint_now();

 private:
  // One optimisation step (grad_accum micro-batches); fills m except timing and eval.
  void step_once(StepMetrics& m);
  // The single place where windows are drawn: rows of this rank for one micro-step.
  void draw_micro_batch(std::vector<int32_t>& ids, std::vector<int32_t>& targets, float& loss_scale);
  nlohmann::json state_json() const;
  void restore_state(const nlohmann::json& state, const std::string& where, bool keep_sampler);
  void rollback(StepMetrics& m);
  void open_metrics(std::optional<int64_t> keep_through_step);
  void write_metrics_line(const std::string& line);

  Transformer& model_;
  const TokenDataset& train_;
  const TokenDataset* val_;
  LmTrainOptions opts_;
  std::unique_ptr<AdamW> opt_;
  LrSchedule schedule_;
  std::vector<ag::Var> params_;
  std::unique_ptr<WindowSampler> sampler_;
  SpikeGuard guard_;
  int64_t step_ = 0, rollbacks_ = 0;
  std::vector<int32_t> windows_;
  std::vector<float> flat_grads_;  // allreduce buffer (allocated once)
  std::FILE* metrics_ = nullptr;
  bool metrics_opened_ = false;
  bool resumed_ = false;  // resume() was called: keep the checkpoints there
};

}  // namespace baimo::train
