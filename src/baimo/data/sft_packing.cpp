#include "baimo/data/sft_packing.h"

#include <algorithm>
#include <cassert>
#include <set>
#include <utility>

#include "baimo/data/seeded_permutation.h"
#include "baimo/util/error.h"

namespace baimo {

PackedPlan::PackedPlan(std::span<const SftExample> examples, const SftPackingOptions& options, uint64_t seed,
                       uint64_t epoch)
    : examples_(examples), options_(options) {
  if (options.seq == 0) fail("SFT packing: the sequence length must be positive");
  for (size_t i = 0; i < examples.size(); ++i) {
    const SftExample& e = examples[i];
    if (e.ids.empty()) fail("SFT packing: example {} (record {}) has no tokens", i, e.record);
    if (e.ids.size() > options.seq)
      fail("SFT packing: example {} (record {}) has {} tokens, more than the sequence length {} (encode with max_len <= seq)",
           i, e.record, e.ids.size(), options.seq);
    if (e.mask.size() != e.ids.size()) fail("SFT packing: example {} has {} mask values for {} ids", i, e.mask.size(), e.ids.size());
    tokens_ += e.ids.size();
  }
  std::vector<size_t> order = seeded_permutation(examples.size(), mix_seed(seed, epoch));
  row_begin_.push_back(0);
  if (!options.pack) {
    order_ = std::move(order);
    for (size_t r = 1; r <= order_.size(); ++r) row_begin_.push_back(r);
    return;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return examples[a].ids.size() > examples[b].ids.size(); });
  std::vector<std::vector<size_t>> bins;
  std::set<std::pair<size_t, size_t>> room;  // (free tokens, bin): best fit = the first with enough room
  for (size_t i : order) {
    const size_t len = examples[i].ids.size();
    auto it = room.lower_bound({len, 0});
    size_t bin;
    size_t left;
    if (it == room.end()) {
      bin = bins.size();
      bins.emplace_back();
      left = options.seq - len;
    } else {
      bin = it->second;
      left = it->first - len;
      room.erase(it);
    }
    bins[bin].push_back(i);
    if (left > 0) room.insert({left, bin});
  }
  const std::vector<size_t> rows = seeded_permutation(bins.size(), mix_seed(~seed, epoch));
  for (size_t r : rows) {
    order_.insert(order_.end(), bins[r].begin(), bins[r].end());
    row_begin_.push_back(order_.size());
  }
}

std::span<const size_t> PackedPlan::row_examples(size_t row) const {
  if (row >= rows()) fail("SFT packing: row {} is out of range (the plan has {} rows)", row, rows());
  return std::span<const size_t>(order_).subspan(row_begin_[row], row_begin_[row + 1] - row_begin_[row]);
}

void PackedPlan::fill(size_t row_begin, size_t row_count, SftBatch& batch) const {
  if (row_begin > rows() || row_count > rows() - row_begin)
    fail("SFT packing: rows [{}, {}) are out of range (the plan has {} rows)", row_begin, row_begin + row_count, rows());
  const size_t seq = options_.seq;
  batch.rows = row_count;
  batch.seq = seq;
  batch.ids.assign(row_count * seq, options_.pad_id);
  batch.targets.assign(row_count * seq, kIgnoreTarget);
  batch.positions.assign(row_count * seq, 0);
  batch.segments.assign(row_count * seq, 0);
  batch.target_count = 0;
  batch.sampled = false;
  batch.examples.assign(row_count, {});
  for (size_t r = 0; r < row_count; ++r) {
    const size_t base = r * seq;
    size_t at = 0;
    int32_t segment = 0;
    const std::span<const size_t> in_row = row_examples(row_begin + r);
    batch.examples[r].assign(in_row.begin(), in_row.end());
    for (size_t ex : in_row) {
      const SftExample& e = examples_[ex];
      const size_t len = e.ids.size();
      for (size_t t = 0; t < len; ++t) {
        const size_t c = base + at + t;
        batch.ids[c] = e.ids[t];
        batch.positions[c] = static_cast<int32_t>(t);
        batch.segments[c] = segment;
        if (t + 1 < len && e.mask[t + 1]) {
          batch.targets[c] = e.ids[t + 1];
          ++batch.target_count;
        }
      }
      at += len;
      ++segment;
    }
    for (size_t t = at; t < seq; ++t) {  // the pad tail: a segment of its own
      batch.positions[base + t] = static_cast<int32_t>(t - at);
      batch.segments[base + t] = segment;
    }
  }
}

int32_t sft_pad_id(const Tokenizer& tok, ChatTemplateKind kind) {
  const std::optional<uint32_t> eot = tok.token_to_id(chat_end_of_turn(kind));
  auto usable = [&](std::optional<uint32_t> id) { return id && (!eot || *id != *eot); };
  if (std::optional<uint32_t> id = tok.token_to_id("<|endoftext|>"); usable(id)) return static_cast<int32_t>(*id);
  if (std::optional<uint32_t> id = tok.eos_id(); usable(id)) return static_cast<int32_t>(*id);
  return 0;
}

}  // namespace baimo
