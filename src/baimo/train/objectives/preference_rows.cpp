#include "baimo/train/objectives/preference_rows.h"

#include <algorithm>

#include "baimo/util/error.h"

namespace baimo::train {

PreferenceRows pack_preference_rows(std::span<const PreferenceExample> examples, std::span<const size_t> pairs,
                                    size_t seq, int32_t pad_id, uint64_t seed) {
  PreferenceRows out;
  out.pairs = pairs.size();
  // The 2P sequences as SFT examples: the mask marks the answer, so the packer's targets are the
  // answer tokens.
  std::vector<SftExample> seqs;
  seqs.reserve(2 * pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const PreferenceExample& e = examples[pairs[i]];
    for (const std::vector<int32_t>* answer : {&e.chosen, &e.rejected}) {
      SftExample s;
      s.ids = e.prompt;
      s.ids.insert(s.ids.end(), answer->begin(), answer->end());
      s.mask.assign(e.prompt.size(), 0);
      s.mask.resize(s.ids.size(), 1);
      s.record = seqs.size();
      if (s.ids.size() > seq) fail("internal: a preference sequence of {} tokens exceeds the row length {}", s.ids.size(), seq);
      out.tokens += s.ids.size();
      seqs.push_back(std::move(s));
    }
    out.chosen_tokens.push_back(static_cast<float>(e.chosen.size()));
    out.rejected_tokens.push_back(static_cast<float>(e.rejected.size()));
  }
  PackedPlan plan(seqs, SftPackingOptions{seq, true, pad_id}, seed, 0);
  SftBatch full;
  plan.fill(0, plan.rows(), full);

  // Columns used by the longest row, rounded up to 8.
  size_t used = 0;
  for (size_t r = 0; r < plan.rows(); ++r) {
    size_t n = 0;
    for (size_t e : plan.row_examples(r)) n += seqs[e].ids.size();
    used = std::max(used, n);
  }
  const size_t width = std::min(seq, (used + 7) / 8 * 8);
  const size_t rows = plan.rows();
  SftBatch& b = out.batch;
  b.rows = rows;
  b.seq = width;
  b.target_count = full.target_count;
  auto cut = [&](const std::vector<int32_t>& from, std::vector<int32_t>& to) {
    to.resize(rows * width);
    for (size_t r = 0; r < rows; ++r) std::copy_n(from.begin() + r * seq, width, to.begin() + r * width);
  };
  cut(full.ids, b.ids);
  cut(full.targets, b.targets);
  cut(full.positions, b.positions);
  cut(full.segments, b.segments);

  const int32_t P = static_cast<int32_t>(pairs.size());
  out.chosen_group.assign(rows * width, -1);
  out.rejected_group.assign(rows * width, -1);
  out.last.assign(2 * pairs.size(), 0);
  for (size_t r = 0; r < rows; ++r) {
    size_t at = 0;
    for (size_t e : plan.row_examples(r)) {
      const size_t len = seqs[e].ids.size(), pair = e / 2;
      const bool chosen = e % 2 == 0;
      std::vector<int32_t>& group = chosen ? out.chosen_group : out.rejected_group;
      for (size_t t = 0; t < len; ++t)
        if (b.targets[r * width + at + t] != kIgnoreTarget) group[r * width + at + t] = static_cast<int32_t>(pair);
      out.last[(chosen ? 0 : P) + pair] = static_cast<int32_t>(r * width + at + len - 1);
      at += len;
    }
  }
  return out;
}

PreferenceTensors preference_tensors(const PreferenceRows& p) {
  const Shape shape{static_cast<int64_t>(p.batch.rows), static_cast<int64_t>(p.batch.seq)};
  return {Tensor::from_ids(shape, p.batch.ids),
          Tensor::from_ids(shape, p.batch.targets),
          Tensor::from_ids(shape, p.batch.positions),
          Tensor::from_ids(shape, p.batch.segments),
          Tensor::from_ids(shape, p.chosen_group),
          Tensor::from_ids(shape, p.rejected_group),
          Tensor::from_ids(Shape{static_cast<int64_t>(p.last.size())}, p.last)};
}

}  // namespace baimo::train
