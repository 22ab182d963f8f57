// Preference pairs laid out as packed rows for one forward pass: pair i's two sequences, prompt +
// chosen (sequence 2i) and prompt + rejected (2i + 1), are packed best-fit into rows of at most `seq`
// tokens (data/sft_packing.h: attention and positions reset per sequence), then the rows are cut to
// the longest row's length rounded up to 8 (short pairs do not pay for max_len columns).
// Per token (rows x seq, row-major): targets = the next id on answer tokens (every answer token is a
// target exactly once, predicted from the token before it), else -100; chosen_group[c] = i where c's
// target is an answer token of pair i's chosen sequence, else -1 (rejected_group likewise), so that
// segment_sum(token log-probs, chosen_group, pairs) is each chosen answer's log-probability.
// last[s] (2 x pairs: chosen 0..P-1, then rejected P..2P-1) = the flat index row * seq + column of
// sequence s's last token (a reward model's score position). The layout is a pure function of the
// pairs, their order and the seed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "baimo/data/preference_examples.h"
#include "baimo/data/sft_packing.h"
#include "baimo/tensor/tensor.h"

namespace baimo::train {

struct PreferenceRows {
  SftBatch batch;                                   // ids, targets, positions, segments
  std::vector<int32_t> chosen_group, rejected_group;  // (rows * seq)
  std::vector<int32_t> last;                        // (2 * pairs)
  std::vector<float> chosen_tokens, rejected_tokens;  // (pairs): answer tokens
  size_t pairs = 0;
  size_t tokens = 0;                                // real (non-padding) tokens
};

// `pairs` index into `examples`; every sequence must fit in `seq` tokens.
PreferenceRows pack_preference_rows(std::span<const PreferenceExample> examples, std::span<const size_t> pairs,
                                    size_t seq, int32_t pad_id, uint64_t seed);

// Tensors of the rows (shape (rows, seq), I32).
struct PreferenceTensors {
  Tensor ids, targets, positions, segments, chosen_group, rejected_group, last;
};
PreferenceTensors preference_tensors(const PreferenceRows& rows);

}  // namespace baimo::train
