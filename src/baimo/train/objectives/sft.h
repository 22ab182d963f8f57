// SftObjective: instruction tuning (InstructGPT step 1): next-token cross-entropy on the answer tokens
// of chat examples only (data/sft_examples.h), over packed rows (data/sft_packing.h) whose attention
// and positions reset at every conversation, so that the loss per token is that of unpacked rows.
// Micro-batch: the next `batch` rows of an endless stream of rows (epoch e = PackedPlan(train, seed, e),
// row after row, epoch after epoch); rank r of world w takes rows [r*batch/w, (r+1)*batch/w).
// loss = mean cross-entropy over the non-ignored targets (count = the micro-batch's answer targets).
// Two modes, one objective: full (adapter == nullptr) or LoRA (adapter attached to the model, base
// frozen); the module is finetune_module's (objectives/finetune_module.h). LoRA dropout is seeded by
// the row position so that a resumed run draws the same masks.
// state(): {"row_position"} (rows of the stream consumed); a rollback keeps the position (the rows
// since the checkpoint are skipped) and notes {"skipped_rows": [from, to]}.
// evaluate(): mean loss per answer token over the held-out rows (epoch 0 plan, at most eval_rows rows;
// every rank scores them all, so the value does not depend on the ranks), dropout off; nullopt
// without held-out examples.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "baimo/data/sft_packing.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objective.h"

namespace baimo::train {

struct SftObjectiveOptions {
  int64_t batch = 8;         // global rows per micro-batch
  int64_t grad_accum = 1;
  SftPackingOptions packing;  // seq, pack, pad_id
  uint64_t seed = 0;
  int64_t eval_rows = 0;     // 0 = every held-out row
  bool weight_decay_all = false;
  bool decay_lora = false;
  std::string tokenizer_json;   // full: copied into every checkpoint (with its tokenizer_config.json)
  std::string base_model;       // LoRA: base_model_name_or_path in adapter_config.json
  int rank = 0, world = 1;
};

class SftObjective : public Objective {
 public:
  // The examples are kept by reference and must outlive the objective; held_out may be empty.
  SftObjective(Transformer& model, LoraAdapter* adapter, std::span<const SftExample> train,
               std::span<const SftExample> held_out, SftObjectiveOptions opts);
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override;
  double flops_per_token() const override;

  size_t rows_per_epoch() const { return epoch_plan(0).rows(); }
  uint64_t row_position() const { return position_; }
  // Rows [first, first + count) of the training stream into `batch`; the real (non-padding) tokens
  // of stream row `row`. (bench/sft dumps the rows it gives its anchor.)
  void fill_stream_rows(uint64_t first, size_t count, SftBatch& batch) const;
  size_t stream_row_tokens(uint64_t row) const;

 protected:
  // The loss of one micro-batch (its count = batch.target_count): SFT's cross-entropy on the answer
  // tokens; distillation (objectives/distill.h) replaces it. evaluate() keeps the cross-entropy.
  virtual MicroLoss batch_loss(const SftBatch& batch);
  // Called by draw() with the rows it drew (stream row `first_row` onward, before the count): a
  // subclass may replace them (on-policy distillation: the student's own answers).
  virtual void redraw(SftBatch& batch, uint64_t first_row) {}
  Transformer& model() const { return model_; }
  const SftObjectiveOptions& options() const { return opts_; }

 private:
  const PackedPlan& epoch_plan(uint64_t epoch) const;

  struct Micro {
    SftBatch batch;
    uint64_t first_row = 0;
  };
  Transformer& model_;
  LoraAdapter* adapter_;
  std::span<const SftExample> train_;
  std::span<const SftExample> held_out_;
  SftObjectiveOptions opts_;
  uint64_t position_ = 0;
  mutable std::unique_ptr<PackedPlan> plan_;
  mutable uint64_t plan_epoch_ = 0;
  std::vector<Micro> micro_;
};

// The tensors of a batch -> mean cross-entropy over its non-ignored targets (scalar Var).
ag::Var sft_batch_loss(const Transformer& model, const SftBatch& batch);

}  // namespace baimo::train
