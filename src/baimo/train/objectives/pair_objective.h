// PairObjective: what the reward model (objectives/reward_model.h) and DPO (objectives/dpo.h) share:
// training on preference pairs (data/preference_examples.h).
// Micro-batch: the next `batch` pairs of an endless stream (epoch e = the training pairs in the order
// seeded_permutation(n, mix_seed(seed, e)), epoch after epoch); rank r of world w takes pairs
// [r*batch/w, (r+1)*batch/w) of it, packed into rows (objectives/preference_rows.h). Its count of loss
// terms is its number of pairs; the loss is the mean over them, and so are the metrics.
// Module: finetune_module (the whole model, or the LoRA adapter), plus extra_modules() of a subclass.
// state(): {"pair_position"} (pairs of the stream consumed); a rollback keeps the position and notes
// {"skipped_pairs": [from, to]}. evaluate(): the mean loss over every held-out pair (chunks of
// `batch` pairs, in order, dropout off; every rank scores them all), and eval_metrics() the means of
// the metrics over those pairs; nullopt without held-out pairs. The loss is not a per-token
// cross-entropy (token_loss() false).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "baimo/data/preference_examples.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objective.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/objectives/preference_rows.h"

namespace baimo::train {

struct PairObjectiveOptions {
  int64_t batch = 8;  // global pairs per micro-batch
  int64_t grad_accum = 1;
  size_t seq = 1024;  // row length (every sequence fits: encode with max_len <= seq)
  int32_t pad_id = 0;
  uint64_t seed = 0;
  FinetuneModuleOptions module;
  int rank = 0, world = 1;
};

using NamedValues = std::vector<std::pair<std::string, float>>;

class PairObjective : public Objective {
 public:
  // The examples are kept by reference and must outlive the objective; held_out may be empty.
  PairObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
                std::span<const PreferenceExample> held_out, PairObjectiveOptions opts);
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  NamedValues eval_metrics() const override { return eval_metrics_; }
  bool token_loss() const override { return false; }
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override;
  double flops_per_token() const override;
  // The pairs (indices into the training pairs) and rows of micro-batch `micro` of the last draw
  // (bench/dpo dumps what its anchor trains on).
  std::span<const size_t> drawn_pairs(int64_t micro) const { return micro_.at(static_cast<size_t>(micro)).ids; }
  const PreferenceRows& drawn_rows(int64_t micro) const { return micro_.at(static_cast<size_t>(micro)).rows; }

 protected:
  struct PairLoss {
    ag::Var loss;         // (1): mean over the pairs
    NamedValues metrics;  // means over the pairs
  };
  // The loss of pairs `ids` (indices into the training pairs, or into the held-out ones) laid out as `rows`.
  virtual PairLoss pair_loss(const PreferenceRows& rows, std::span<const size_t> ids, bool held_out) = 0;
  virtual std::vector<TrainModule> extra_modules() { return {}; }
  virtual nlohmann::json extra_trajectory() const = 0;
  PreferenceRows pack(std::span<const PreferenceExample> examples, std::span<const size_t> ids) const;

  Transformer& model_;
  LoraAdapter* adapter_;
  std::span<const PreferenceExample> train_, held_out_;
  PairObjectiveOptions opts_;

 private:
  struct Micro {
    std::vector<size_t> ids;
    PreferenceRows rows;
    uint64_t first_pair = 0;
  };
  size_t stream_pair(uint64_t position) const;  // training pair at stream position
  uint64_t position_ = 0;
  mutable std::vector<size_t> order_;
  mutable uint64_t order_epoch_ = UINT64_MAX;
  std::vector<Micro> micro_;
  NamedValues eval_metrics_;
  double pair_tokens_ = 0;  // mean real tokens of a training pair (both sequences)
};

}  // namespace baimo::train
