#include "baimo/kernels/rope_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "baimo/kernels/backend.h"

using namespace baimo;

// extend() keeps the rows it has and adds the same rows a table built at that size holds.
TEST(RopeTable, ExtendEqualsAFreshTable) {
  RopeTable grown(10000.0f, 64, 3);
  const std::vector<float> first(grown.cos_sin);
  grown.extend(300);
  const RopeTable fresh(10000.0f, 64, 300);
  EXPECT_EQ(grown.positions(), 300);
  EXPECT_EQ(grown.cos_sin, fresh.cos_sin);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), fresh.cos_sin.begin()));
  EXPECT_EQ(fresh.row(0)[0], 1.0f);   // cos 0
  EXPECT_EQ(fresh.row(0)[32], 0.0f);  // sin 0
}

// The backend's rope reads the same table: rotating one head at position p equals rotating by row p.
TEST(RopeTable, IsTheBackendsTable) {
  const int64_t D = 16;
  const RopeTable t(500000.0f, D, 50);
  std::vector<float> x(D);
  for (int64_t i = 0; i < D; ++i) x[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const int32_t pos = 41;
  std::vector<float> y(D);
  backend().rope(x.data(), &pos, 1, 1, 1, D, 500000.0f, false, y.data(), false);
  const float* cs = t.row(pos);
  for (int64_t i = 0; i < D / 2; ++i) {
    EXPECT_FLOAT_EQ(y[i], x[i] * cs[i] - x[i + D / 2] * cs[D / 2 + i]);
    EXPECT_FLOAT_EQ(y[i + D / 2], x[i + D / 2] * cs[i] + x[i] * cs[D / 2 + i]);
  }
}
