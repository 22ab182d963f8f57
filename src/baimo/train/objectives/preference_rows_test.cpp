#include "baimo/train/objectives/preference_rows.h"

#include <gtest/gtest.h>

#include <set>

namespace baimo::train {
namespace preference_rows_test {

PreferenceExample pair(std::vector<int32_t> prompt, std::vector<int32_t> chosen, std::vector<int32_t> rejected) {
  PreferenceExample e;
  e.prompt = std::move(prompt);
  e.chosen = std::move(chosen);
  e.rejected = std::move(rejected);
  return e;
}

// Every sequence is found whole in its row: prompt + answer ids, positions 0.., one segment; its
// answer tokens are the targets of the tokens before them and carry the pair's group; last points at
// its last token.
TEST(PreferenceRows, EverySequenceIsWholeWithItsAnswerTargetsAndLastToken) {
  std::vector<PreferenceExample> ex = {pair({1, 2, 3}, {10, 11}, {20}), pair({4, 5}, {12, 13, 14, 15}, {21, 22}),
                                       pair({6}, {16}, {23, 24, 25})};
  const std::vector<size_t> ids = {2, 0, 1};
  PreferenceRows rows = pack_preference_rows(ex, ids, 12, 0, 7);
  const SftBatch& b = rows.batch;
  ASSERT_EQ(rows.pairs, 3u);
  EXPECT_TRUE(b.seq % 8 == 0 || b.seq == 12) << b.seq;  // rounded up to 8, at most the row length
  EXPECT_LE(b.seq, 12u);
  size_t targets = 0;
  for (size_t p = 0; p < 3; ++p) {
    const PreferenceExample& e = ex[ids[p]];
    EXPECT_EQ(rows.chosen_tokens[p], e.chosen.size());
    EXPECT_EQ(rows.rejected_tokens[p], e.rejected.size());
    for (int side = 0; side < 2; ++side) {
      const std::vector<int32_t>& answer = side == 0 ? e.chosen : e.rejected;
      const std::vector<int32_t>& group = side == 0 ? rows.chosen_group : rows.rejected_group;
      const size_t last = static_cast<size_t>(rows.last[side * 3 + p]);
      const size_t len = e.prompt.size() + answer.size();
      ASSERT_GE(last + 1, len);
      const size_t start = last + 1 - len;
      ASSERT_EQ(start / b.seq, last / b.seq) << "a sequence crosses a row";
      for (size_t t = 0; t < len; ++t) {
        const size_t c = start + t;
        const int32_t id = t < e.prompt.size() ? e.prompt[t] : answer[t - e.prompt.size()];
        EXPECT_EQ(b.ids[c], id);
        EXPECT_EQ(b.positions[c], static_cast<int32_t>(t));
        EXPECT_EQ(b.segments[c], b.segments[start]);
        const bool predicts_answer = t + 1 >= e.prompt.size() && t + 1 < len;
        EXPECT_EQ(b.targets[c], predicts_answer ? answer[t + 1 - e.prompt.size()] : kIgnoreTarget);
        EXPECT_EQ(group[c], predicts_answer ? static_cast<int32_t>(p) : -1);
        targets += predicts_answer;
      }
    }
  }
  EXPECT_EQ(targets, b.target_count);
  // No token belongs to both groups.
  for (size_t c = 0; c < rows.chosen_group.size(); ++c) EXPECT_FALSE(rows.chosen_group[c] >= 0 && rows.rejected_group[c] >= 0);
  EXPECT_EQ(rows.tokens, 3u + 2 + 3 + 1 + 2 + 4 + 2 + 2 + 1 + 1 + 1 + 3);
}

TEST(PreferenceRows, RowsAreCutToTheLongestRowAndTheLayoutIsAFunctionOfItsInputs) {
  std::vector<PreferenceExample> ex = {pair({1, 2}, {3}, {4})};
  const std::vector<size_t> ids = {0};
  PreferenceRows a = pack_preference_rows(ex, ids, 1024, 0, 1);
  EXPECT_EQ(a.batch.rows, 1u);  // both 3-token sequences share a row
  EXPECT_EQ(a.batch.seq, 8u);
  PreferenceRows b = pack_preference_rows(ex, ids, 1024, 0, 1);
  EXPECT_EQ(a.batch.ids, b.batch.ids);
  EXPECT_EQ(a.last, b.last);
  PreferenceTensors t = preference_tensors(a);
  EXPECT_EQ(t.ids.shape(), (Shape{1, 8}));
  EXPECT_EQ(t.last.shape(), (Shape{2}));
}

}  // namespace preference_rows_test

}  // namespace baimo::train
