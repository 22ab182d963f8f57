#include "baimo/compress/prune_mask.h"

#include <gtest/gtest.h>

#include <vector>

#include "baimo/util/error.h"

namespace baimo {
namespace prune_mask_test {

std::vector<float> pruned(std::vector<float> w, int64_t rows, int64_t cols, const PruneSpec& s,
                          std::vector<float> scale = {}, int64_t* zeroed = nullptr) {
  const int64_t z = prune_rows(w, rows, cols, scale, s, "m");
  if (zeroed) *zeroed = z;
  return w;
}

TEST(PruneMask, UnstructuredPerRow) {
  const PruneSpec half = unstructured_prune_spec(0.5);
  // Each row keeps its own two largest |w|, whatever the other row holds.
  EXPECT_EQ(pruned({1, -4, 2, 3, /**/ 10, 20, -0.5f, 0.25f}, 2, 4, half),
            (std::vector<float>{0, -4, 0, 3, /**/ 10, 20, 0, 0}));
  // floor(4 * 0.6) = 2 zeroed per row; floor(4 * 0.2) = 0.
  EXPECT_EQ(pruned({4, 3, 2, 1}, 1, 4, unstructured_prune_spec(0.6)), (std::vector<float>{4, 3, 0, 0}));
  EXPECT_EQ(pruned({4, 3, 2, 1}, 1, 4, unstructured_prune_spec(0.2)), (std::vector<float>{4, 3, 2, 1}));
  EXPECT_EQ(pruned({4, 3, 2, 1, 5}, 1, 5, unstructured_prune_spec(0.9)), (std::vector<float>{0, 0, 0, 0, 5}));
}

TEST(PruneMask, WandaScaleChangesTheChoice) {
  // scores |w| * s = 10, 2, 3, 4: the smallest weight survives because its input is large.
  EXPECT_EQ(pruned({1, 2, 3, 4}, 1, 4, unstructured_prune_spec(0.5), {10, 1, 1, 1}),
            (std::vector<float>{1, 0, 0, 4}));
  EXPECT_EQ(pruned({1, 2, 3, 4, 4, 3, 2, 1}, 2, 4, parse_prune_pattern("2:4"), {0.1f, 0.1f, 1, 1}),
            (std::vector<float>{0, 0, 3, 4, 0, 0, 2, 1}));
}

TEST(PruneMask, NOfMGroups) {
  const std::vector<float> w = {1, 2, 3, 4, -8, 7, -6, 5};
  EXPECT_EQ(pruned(w, 1, 8, parse_prune_pattern("2:4")), (std::vector<float>{0, 0, 3, 4, -8, 7, 0, 0}));
  EXPECT_EQ(pruned(w, 1, 8, parse_prune_pattern("1:4")), (std::vector<float>{0, 0, 0, 4, -8, 0, 0, 0}));
  EXPECT_EQ(pruned(w, 1, 8, parse_prune_pattern("3:8")), (std::vector<float>{0, 0, 0, 0, -8, 7, -6, 0}));
  EXPECT_EQ(pruned(w, 2, 4, parse_prune_pattern("1:2")), (std::vector<float>{0, 2, 0, 4, -8, 0, -6, 0}));
}

TEST(PruneMask, TiesPruneTheLowerIndexFirst) {
  EXPECT_EQ(pruned({1, -1, 1, -1}, 1, 4, unstructured_prune_spec(0.5)), (std::vector<float>{0, 0, 1, -1}));
  EXPECT_EQ(pruned({2, 2, 2, 2, 3, 1, 1, 3}, 1, 8, parse_prune_pattern("2:4")),
            (std::vector<float>{0, 0, 2, 2, 3, 0, 0, 3}));
  // Equal scores from different weights and scales (2 * 1 == 1 * 2) also tie by index.
  EXPECT_EQ(pruned({2, 1, 5, 5}, 1, 4, unstructured_prune_spec(0.5), {1, 2, 1, 1}), (std::vector<float>{0, 0, 5, 5}));
}

TEST(PruneMask, CountsOnlyNewZeros) {
  int64_t z = -1;
  EXPECT_EQ(pruned({0, 3, 2, 1}, 1, 4, unstructured_prune_spec(0.5), {}, &z), (std::vector<float>{0, 3, 2, 0}));
  EXPECT_EQ(z, 1);
  EXPECT_EQ(pruned({1, 2, 3, 4, 5, 6, 7, 8}, 2, 4, parse_prune_pattern("2:4"), {}, &z).size(), 8u);
  EXPECT_EQ(z, 4);
}

TEST(PruneMask, Describe) {
  EXPECT_EQ(unstructured_prune_spec(0.5).describe(), "50%");
  EXPECT_EQ(parse_prune_pattern("2:4").describe(), "2:4");
}

TEST(PruneMask, Errors) {
  for (double p : {0.0, 1.0, -0.1, 1.5}) EXPECT_THROW(unstructured_prune_spec(p), Error) << p;
  for (const char* s : {"4:4", "0:4", "5:4", "2-4", "a:4", "2:", ":4", "2:4:8", ""})
    EXPECT_THROW(parse_prune_pattern(s), Error) << s;
  std::vector<float> w(12, 1.0f);
  try {
    prune_rows(w, 2, 6, {}, parse_prune_pattern("2:4"), "model.layers.3.mlp.down_proj.weight");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model.layers.3.mlp.down_proj.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("(2, 6)"), std::string::npos) << m;
    EXPECT_NE(m.find("not divisible by M = 4"), std::string::npos) << m;
  }
  EXPECT_THROW(prune_rows(w, 2, 6, std::vector<float>(5, 1.0f), unstructured_prune_spec(0.5), "m"), Error);
  EXPECT_THROW(prune_rows(w, 3, 6, {}, unstructured_prune_spec(0.5), "m"), Error);
  EXPECT_EQ(w, std::vector<float>(12, 1.0f));  // an error changes nothing
}

}  // namespace prune_mask_test
}  // namespace baimo
