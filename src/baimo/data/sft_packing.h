// SFT batches: examples (sft_examples.h) laid out in rows of `seq` tokens for the SFT objective.
// A PackedPlan fixes one epoch's rows; the objective draws micro-batches of consecutive rows with
// fill(row_begin, row_count, batch) and resumes from (epoch, row) alone: the plan is a pure function
// of (examples, options, seed, epoch).
// Rows: with pack, the examples in a seeded order (seeded_permutation(n, mix_seed(seed, epoch)))
// are sorted by length, longest first (stable, so equal lengths keep the shuffled order), and placed
// best-fit (into the row with the least room that still holds it, lowest row on ties, else a new
// row); the rows are then shuffled with mix_seed(~seed, epoch). Within a row the examples stay in
// placement order. Without pack: one example per row, rows in the seeded order.
// Batch (row-major [rows, seq], int32), for an example occupying row columns [a, a + L):
//   ids[a + t]       = example ids[t]
//   targets[a + t]   = ids[t + 1] when t + 1 < L and token t + 1 is an answer token (mask 1), else -100:
//                      every answer token after the first id is a target exactly once, and no target
//                      crosses into the next example
//   positions[a + t] = t (rotary positions restart per example)
//   segments[a + t]  = the example's index within the row (0, 1, ...): non-decreasing along the row
//   examples[r]      = the row's examples (indices into `examples`), in segment order
// The tail after the last example is padding: ids = pad_id, targets -100, positions 0, 1, ... and one
// segment of its own (the next index), so attention that stays within a segment never mixes it in.
// An example longer than seq (or empty) is a baimo::Error when planning: encode with max_len <= seq.
// sft_pad_id: the pad id to use: "<|endoftext|>" when the tokenizer has it, else its EOS, else 0 --
// whichever first is not the template's end-of-turn token (a pad must not look like an end of turn,
// and its targets are ignored anyway).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "baimo/data/sft_examples.h"

namespace baimo {

constexpr int32_t kIgnoreTarget = -100;

struct SftBatch {
  size_t rows = 0, seq = 0;
  std::vector<int32_t> ids, targets, positions, segments;  // rows * seq each
  size_t target_count = 0;                                 // targets != kIgnoreTarget
  // Per row, its examples in order (indices into the plan's examples): segment s of row r is
  // examples[r][s] (a teacher cache finds an example's records by it: train/teacher_cache.h).
  std::vector<std::vector<size_t>> examples;
  bool sampled = false;  // the answers are a model's own samples (on-policy distillation)
};

struct SftPackingOptions {
  size_t seq = 0;
  bool pack = true;
  int32_t pad_id = 0;
};

class PackedPlan {
 public:
  // `examples` are kept by reference: they must outlive the plan.
  PackedPlan(std::span<const SftExample> examples, const SftPackingOptions& options, uint64_t seed, uint64_t epoch);

  size_t rows() const { return row_begin_.size() - 1; }
  size_t seq() const { return options_.seq; }
  size_t tokens() const { return tokens_; }  // example tokens over all rows (the rest is padding)
  // Indices into `examples` of the examples in `row`, in their order along the row.
  std::span<const size_t> row_examples(size_t row) const;
  // Overwrites `batch` with rows [row_begin, row_begin + row_count) (must lie within rows()).
  void fill(size_t row_begin, size_t row_count, SftBatch& batch) const;

 private:
  std::span<const SftExample> examples_;
  SftPackingOptions options_;
  std::vector<size_t> row_begin_;  // rows() + 1 offsets into order_
  std::vector<size_t> order_;      // example indices, row after row
  size_t tokens_ = 0;
};

int32_t sft_pad_id(const Tokenizer& tok, ChatTemplateKind kind);

}  // namespace baimo
