// Trainer: the one training loop, over an Objective (objective.h). Each step: grad_accum micro-batches
// drawn by the objective, forward + backward of each weighted by its share of the global batch's
// loss terms (token-weighted: the gradient of one big batch, not a mean of micro-batch means),
// all-reduce over ranks, global-norm clipping over every trainable module, one AdamW per trainable
// module with a warmup + cosine or warmup-stable-decay schedule. Every eval_interval steps (and at the
// end) the objective's validation loss. Stops at `steps` or when time_budget_s (> 0) has elapsed.
// Contract:
// - Deterministic: the same options, objective and thread count give bit-identical losses and weights.
//   The whole state (every module's weights, AdamW moments and step, the objective's state, spike-guard
//   statistics, step, rollback count) goes into checkpoints (checkpoint.h) under out_dir every
//   checkpoint_interval steps, at step 0 of a fresh run (which first removes older checkpoints in
//   out_dir) and at the end; resume() restores the newest one (or a chosen one) so that the run
//   continues bit-identically (kill -9 at any moment is safe).
// - Resume keeps the trajectory options (trainer's and objective's); "steps" alone may change when
//   the schedule up to the resumed step is the same for both values: wsd while the resumed step is
//   still before the decay of both (stretching or shortening a wsd run in its stable phase).
// - Spike guard (spike_guard.h): a non-finite loss or gradient norm, or a loss above spike_factor x
//   its running mean and kSpikeSigmas running std above it (only when Objective::loss_has_scale()),
//   skips the update (the step still counts, the schedule moves on); spike_patience consecutive skips
//   roll back to the newest checkpoint, the objective keeping its data position (the data since that
//   checkpoint, the offending batches included, is skipped). Every skip and rollback is
//   a line in metrics.jsonl ({"event": "skip"|"rollback", ...}); more than max_rollbacks is an error.
// - metrics.jsonl in out_dir: one line per step {"step", "loss", "lr", "grad_norm", "tokens_per_s",
//   "mfu", "eta_s", "elapsed_s", "tokens" (steps x the tokens of a step), [the objective's named metrics], ["val_loss", ["val_ppl"], "val_<name>"...]}; on resume,
//   lines after the restored step are dropped first. Losses are written with full float precision.
// - Data parallel (MPI) hooks, one place each:
//   * the objective draws this rank's share of every micro-batch (Objective::draw);
//   * gradients are complete ONLY at the marked point of Trainer::compute_gradients (after every
//     backward, before clipping): allreduce_mean is called there on the flat gradients (+ the loss and
//     metrics); allreduce_sum once per step on the count of loss terms (the normaliser);
//   * only rank 0 writes checkpoints, metrics and the final model (is_root()).
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/objective.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/spike_guard.h"

namespace baimo::train {

enum class Schedule { Cosine, Wsd };

struct TrainerOptions {
  int64_t steps = 1000, grad_accum = 1;
  float lr = 3e-4f, min_lr = 3e-5f;
  int64_t warmup = 100;
  Schedule schedule = Schedule::Cosine;
  float decay_fraction = 0.2f;  // wsd: share of the steps spent decaying
  float weight_decay = 0.1f, clip = 1.0f;
  float beta1 = 0.9f, beta2 = 0.95f;
  int64_t eval_interval = 100;
  int64_t checkpoint_interval = 0;  // 0 = only at the start and the end (needs out_dir)
  int64_t keep = 0;                 // checkpoints kept (0 = all)
  double time_budget_s = 0;         // 0 = no limit
  std::string out_dir;              // metrics.jsonl and checkpoints/ go here when set
  SpikeGuardOptions spike;
  int64_t max_rollbacks = 10;
  double peak_gflops = 0;           // MFU reference (0 = MFU not reported)
  int rank = 0, world = 1;          // data parallel: see the header comment
  std::function<void(float*, size_t)> allreduce_mean;
  std::function<void(double*, size_t)> allreduce_sum;
  // Called once per step when the gradients are complete (after the all-reduce), before clipping:
  // it may edit them (compress/zero_mask.h keeps pruned weights at zero this way).
  std::function<void()> edit_gradients;
  nlohmann::json run_config;        // stored in trainer_state.json for reference
};

struct StepMetrics {
  int64_t step = 0;          // 1-based, steps done
  float loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0, mfu = 0, eta_s = 0;
  std::vector<std::pair<std::string, float>> metrics;  // the objective's named metrics
  bool skipped = false;      // the guard rejected this step's update
  std::string skip_reason;   // "nonfinite" | "spike"
  bool rolled_back = false;  // this step triggered a rollback (step is then the restored step)
  bool has_val = false;
  float val_loss = 0;
  std::vector<std::pair<std::string, float>> val_metrics;  // the objective's eval_metrics()
};

// The lr schedule of these options (warmup + cosine, or wsd with its decay steps).
LrSchedule make_schedule(const TrainerOptions& o);
// wsd: the first step of the decay (total steps - decay steps); cosine: 0.
int64_t decay_start(const TrainerOptions& o);

class Trainer {
 public:
  Trainer(Objective& objective, TrainerOptions opts);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;
  // Restores the newest complete checkpoint under out_dir (temp leftovers are removed first), or
  // `from` (a checkpoint directory) when given: checkpoints of later steps in out_dir are removed.
  // Returns the restored step, or nullopt when there is none (a fresh start).
  std::optional<int64_t> resume(const std::string& from = "");
  // Runs to completion from the current step; on_step is called after every step.
  void run(const std::function<void(const StepMetrics&)>& on_step);
  // The objective's validation loss, averaged over ranks (nullopt when it has none); `metrics` (when
  // given) gets its eval_metrics(), averaged over ranks too.
  std::optional<float> evaluate(std::vector<std::pair<std::string, float>>* metrics = nullptr);
  // evaluate() before the first step of a fresh run, also logged to metrics.jsonl as
  // {"event": "eval", "step": 0, "val_loss": ..., "val_<name>": ...}: the start of the held-out curves.
  std::optional<float> evaluate_before_training(std::vector<std::pair<std::string, float>>* metrics);
  // One step's gradients: draws, forward + backward of every micro-batch, all-reduce. Fills m.loss
  // and m.metrics; the gradients are complete and not clipped; nothing is applied. (Tests use it.)
  void compute_gradients(StepMetrics& m);
  int64_t step() const { return step_; }
  bool token_loss() const { return obj_.token_loss(); }
  bool is_root() const { return opts_.rank == 0; }
  const TrainerOptions& options() const { return opts_; }
  // The optimizer of trainable module i (in the order of Objective::modules()).
  const AdamW& optimizer(size_t i = 0) const;
  // Writes a checkpoint of the current state (root only); returns its path ("" on other ranks).
  std::string save_checkpoint_now();

 private:
  void step_once(StepMetrics& m);
  nlohmann::json state_json() const;
  void restore_state(const nlohmann::json& state, const std::string& where, bool rollback, nlohmann::json* note);
  void check_trajectory(const nlohmann::json& saved, int64_t step, const std::string& where) const;
  void rollback(StepMetrics& m);
  void open_metrics(std::optional<int64_t> keep_through_step);
  void write_metrics_line(const std::string& line);
  // `, "val_loss": L[, "val_ppl": P], "val_<name>": V...` of one evaluation, for a metrics.jsonl line.
  std::string val_fields(float loss, const std::vector<std::pair<std::string, float>>& metrics) const;
  std::vector<CheckpointModule> checkpoint_modules() const;

  Objective& obj_;
  TrainerOptions opts_;
  std::vector<TrainModule> modules_;
  std::vector<std::unique_ptr<AdamW>> opts_per_module_;  // null for a frozen module
  std::vector<ag::Var> params_;                          // every trainable parameter (clip, all-reduce)
  LrSchedule schedule_;
  SpikeGuard guard_;
  int64_t step_ = 0, rollbacks_ = 0;
  std::vector<float> flat_grads_;  // allreduce buffer (allocated once)
  std::FILE* metrics_ = nullptr;
  bool metrics_opened_ = false;
  bool resumed_ = false;  // resume() was called: keep the checkpoints there
};

}  // namespace baimo::train
