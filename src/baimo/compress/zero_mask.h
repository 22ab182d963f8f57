// Pruned weights stay pruned through further training (sft, distill, pretrain --init of a model from
// `baimo prune`): the exact zeros of the block matrices, found when training starts, get a zero
// gradient every step. AdamW then never moves them (their moments stay zero and decoupled decay of 0
// is 0), so the trained model keeps the pruned model's mask; clipping sees only the live weights.
// A resumed run finds the same zeros in its checkpoint's weights.
// Contract: only block matrices (q, k, v, o, gate, up, down) holding at least `min_fraction` zeros, and
// not all zeros, are masked — a dense model has none and gets an empty mask, and an all-zero matrix is
// an initialisation (baimo grow's identity layers), not a pruning; one bit per weight.
#pragma once
#include <cstdint>
#include <vector>

#include "baimo/autograd/var.h"
#include "baimo/model/transformer.h"
#include "baimo/train/trainer.h"

namespace baimo {

class ZeroMask {
 public:
  static ZeroMask of(const Transformer& model, double min_fraction = 0.05);

  bool empty() const { return entries_.empty(); }
  size_t matrices() const { return entries_.size(); }
  int64_t zeros() const { return zeros_; }    // masked weights
  int64_t numel() const { return numel_; }    // weights of the masked matrices

  // grad = 0 wherever the weight was zero (matrices without a gradient this step are skipped).
  void zero_gradients() const;

 private:
  struct Entry {
    ag::Var var;
    std::vector<uint64_t> bits;  // bit i set: weight i was zero
  };
  std::vector<Entry> entries_;
  int64_t zeros_ = 0, numel_ = 0;
};

// Sets options.edit_gradients to keep the pruned zeros of `model` (a model trained in full) and, on
// rank 0, prints a note naming `command`; a dense model gets no hook and no note.
void keep_pruned_zeros(const Transformer& model, train::TrainerOptions& options, const char* command);

}  // namespace baimo
