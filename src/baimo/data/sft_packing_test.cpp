#include "baimo/data/sft_packing.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "baimo/data/seeded_permutation.h"
#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"

namespace baimo {
namespace sft_packing_test {

// Examples with distinct ids (example i's token t is i * 1000 + t) and a prompt/answer/prompt/answer mask.
std::vector<SftExample> examples(size_t n, size_t max_len, uint64_t seed) {
  std::vector<SftExample> out;
  uint64_t s = seed;
  for (size_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t len = 2 + (s >> 33) % (max_len - 1);
    SftExample e;
    e.record = i;
    for (size_t t = 0; t < len; ++t) {
      e.ids.push_back(static_cast<int32_t>(i * 1000 + t));
      e.mask.push_back(t >= len / 2 || (t >= 1 && t < 2) ? 1 : 0);
    }
    out.push_back(std::move(e));
  }
  return out;
}

void check_batch(const std::vector<SftExample>& ex, const PackedPlan& plan, const SftBatch& b, int32_t pad) {
  const size_t seq = plan.seq();
  std::map<int32_t, int> as_target;  // answer token id -> times it is a target
  size_t targets = 0;
  for (size_t r = 0; r < b.rows; ++r) {
    const int32_t* ids = &b.ids[r * seq];
    const int32_t* tg = &b.targets[r * seq];
    const int32_t* pos = &b.positions[r * seq];
    const int32_t* seg = &b.segments[r * seq];
    size_t at = 0;
    int32_t segment = 0;
    ASSERT_EQ(b.rows, b.examples.size());
    const std::span<const size_t> in_row = plan.row_examples(r);
    ASSERT_EQ(b.examples[r], std::vector<size_t>(in_row.begin(), in_row.end())) << "row " << r;
    for (size_t k : in_row) {
      const SftExample& e = ex[k];
      for (size_t t = 0; t < e.ids.size(); ++t, ++at) {
        ASSERT_EQ(ids[at], e.ids[t]);
        ASSERT_EQ(pos[at], static_cast<int32_t>(t));
        ASSERT_EQ(seg[at], segment);
        if (tg[at] != kIgnoreTarget) {
          ASSERT_LT(t + 1, e.ids.size()) << "a target crosses an example boundary";
          ASSERT_EQ(tg[at], e.ids[t + 1]);
          ASSERT_EQ(e.mask[t + 1], 1);
          ++as_target[tg[at]];
          ++targets;
        }
      }
      ++segment;
    }
    for (size_t c = at; c < seq; ++c) {  // the pad tail
      ASSERT_EQ(ids[c], pad);
      ASSERT_EQ(tg[c], kIgnoreTarget);
      ASSERT_EQ(seg[c], segment);
      ASSERT_EQ(pos[c], static_cast<int32_t>(c - at));
    }
    for (size_t c = 1; c < seq; ++c) ASSERT_LE(seg[c - 1], seg[c]);
  }
  EXPECT_EQ(b.target_count, targets);
  for (const auto& [id, times] : as_target) EXPECT_EQ(times, 1) << id;
}

TEST(SftPacking, EveryAnswerTokenIsATargetExactlyOnce) {
  const std::vector<SftExample> ex = examples(200, 40, 1);
  for (bool pack : {true, false}) {
    SftPackingOptions o;
    o.seq = 64;
    o.pack = pack;
    o.pad_id = 7;
    const PackedPlan plan(ex, o, 123, 0);
    SftBatch b;
    plan.fill(0, plan.rows(), b);
    ASSERT_EQ(b.ids.size(), plan.rows() * 64);
    check_batch(ex, plan, b, 7);
    // Every example is in exactly one row; every answer token after position 0 is a target once.
    std::vector<int> seen(ex.size(), 0);
    size_t answers = 0;
    for (size_t r = 0; r < plan.rows(); ++r)
      for (size_t k : plan.row_examples(r)) ++seen[k];
    for (size_t i = 0; i < ex.size(); ++i) {
      EXPECT_EQ(seen[i], 1);
      for (size_t t = 1; t < ex[i].ids.size(); ++t) answers += ex[i].mask[t];
    }
    EXPECT_EQ(b.target_count, answers);
    EXPECT_EQ(plan.tokens(), [&] { size_t n = 0; for (const auto& e : ex) n += e.ids.size(); return n; }());
    if (pack) {
      EXPECT_LT(plan.rows(), ex.size() * 3 / 4);  // packing does pack
    } else {
      EXPECT_EQ(plan.rows(), ex.size());
    }
  }
}

TEST(SftPacking, PlanIsAFunctionOfSeedAndEpochAndMicroBatchesTileIt) {
  const std::vector<SftExample> ex = examples(100, 30, 2);
  SftPackingOptions o;
  o.seq = 48;
  const PackedPlan a(ex, o, 5, 3), b(ex, o, 5, 3), c(ex, o, 5, 4), d(ex, o, 6, 3);
  ASSERT_EQ(a.rows(), b.rows());
  auto order = [](const PackedPlan& p) {
    std::vector<size_t> out;
    for (size_t r = 0; r < p.rows(); ++r)
      for (size_t k : p.row_examples(r)) out.push_back(k);
    return out;
  };
  EXPECT_EQ(order(a), order(b));
  EXPECT_NE(order(a), order(c));
  EXPECT_NE(order(a), order(d));
  SftBatch all, part;
  a.fill(0, a.rows(), all);
  for (size_t r = 0; r < a.rows(); r += 3) {  // micro-batches of 3 rows equal the slices of the whole
    const size_t n = std::min<size_t>(3, a.rows() - r);
    a.fill(r, n, part);
    EXPECT_EQ(part.rows, n);
    for (size_t i = 0; i < n * o.seq; ++i) {
      ASSERT_EQ(part.ids[i], all.ids[r * o.seq + i]);
      ASSERT_EQ(part.targets[i], all.targets[r * o.seq + i]);
      ASSERT_EQ(part.positions[i], all.positions[r * o.seq + i]);
      ASSERT_EQ(part.segments[i], all.segments[r * o.seq + i]);
    }
  }
  EXPECT_THROW(a.fill(a.rows() - 1, 2, part), Error);
  EXPECT_THROW(a.row_examples(a.rows()), Error);
}

TEST(SftPacking, RefusesExamplesLongerThanTheRow) {
  std::vector<SftExample> ex = examples(3, 20, 3);
  ex[1].ids.resize(30, 1);
  ex[1].mask.resize(30, 1);
  SftPackingOptions o;
  o.seq = 25;
  try {
    PackedPlan p(ex, o, 0, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("example 1 (record 1) has 30 tokens, more than the sequence length 25"), std::string::npos)
        << e.what();
  }
}

TEST(SftPacking, ExactFitLeavesNoPadSegment) {
  std::vector<SftExample> ex(2);
  for (size_t i = 0; i < 2; ++i) {
    ex[i].ids = {1, 2, 3, 4};
    ex[i].mask = {0, 0, 1, 1};
  }
  SftPackingOptions o;
  o.seq = 8;
  const PackedPlan p(ex, o, 0, 0);
  ASSERT_EQ(p.rows(), 1u);
  SftBatch b;
  p.fill(0, 1, b);
  EXPECT_EQ(b.segments, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(b.positions, (std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(b.targets, (std::vector<int32_t>{-100, 3, 4, -100, -100, 3, 4, -100}));
  EXPECT_EQ(b.target_count, 4u);
}

TEST(SftPacking, SeededPermutationIsStable) {
  // Pinned values: the permutation must not change across platforms or releases (resume).
  EXPECT_EQ(seeded_permutation(8, 1), (std::vector<size_t>{0, 3, 7, 1, 2, 6, 5, 4}));
  EXPECT_EQ(mix_seed(1, 2), 15500643924626446663ULL);
  std::vector<size_t> p = seeded_permutation(1000, 77);
  std::sort(p.begin(), p.end());
  for (size_t i = 0; i < p.size(); ++i) ASSERT_EQ(p[i], i);
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
}

TEST(SftPacking, PadIdIsNotTheEndOfTurn) {
  const std::string path = test_data::shared_dir() + "/models/base-small-zh-en/tokenizer.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  const Tokenizer tok = Tokenizer::from_tokenizer_json_file(path);
  EXPECT_EQ(sft_pad_id(tok, ChatTemplateKind::ChatML), 16381);  // <|endoftext|>, not <|im_end|> 16383
  EXPECT_EQ(sft_pad_id(tok, ChatTemplateKind::Plain), 16381);
}

}  // namespace sft_packing_test

}  // namespace baimo
