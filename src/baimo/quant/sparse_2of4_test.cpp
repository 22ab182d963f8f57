#include "baimo/quant/sparse_2of4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "baimo/quant/block_formats.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace sparse_2of4_test {
using namespace baimo;
using namespace baimo::quant;

// A random row in which every group of 4 has `keep` (0..2) nonzeros at random positions.
std::vector<float> sparse_row(size_t n, std::mt19937& rng, int keep_max = 2) {
  std::normal_distribution<float> val(0.0f, 1.0f);
  std::vector<float> x(n, 0.0f);
  for (size_t g = 0; g < n; g += 4) {
    int pos[4] = {0, 1, 2, 3};
    std::shuffle(pos, pos + 4, rng);
    const int keep = static_cast<int>(rng() % static_cast<unsigned>(keep_max + 1));
    for (int i = 0; i < keep; ++i) x[g + pos[i]] = val(rng);
  }
  return x;
}

TEST(Sparse2of4, DequantizesToQ8_0OfTheSameRow) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t n = 32 * (1 + trial % 5);
    const std::vector<float> x = sparse_row(n, rng, trial % 3 == 0 ? 1 : 2);
    std::vector<uint8_t> s24(dtype_bytes(DType::Q8_0_S24, n)), q8(dtype_bytes(DType::Q8_0, n)), expanded(q8.size());
    quantize_row(DType::Q8_0_S24, x.data(), s24.data(), n);
    quantize_row(DType::Q8_0, x.data(), q8.data(), n);
    expand_row_q8_0_s24(s24.data(), expanded.data(), n);
    EXPECT_EQ(expanded, q8) << "trial " << trial;  // the very bytes of Q8_0
    std::vector<float> a(n), b(n);
    dequantize_row(DType::Q8_0_S24, s24.data(), a.data(), n);
    dequantize_row(DType::Q8_0, q8.data(), b.data(), n);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), n * sizeof(float))) << "trial " << trial;
  }
}

TEST(Sparse2of4, HandBuiltBlockLayout) {
  std::vector<float> x(32, 0.0f);
  x[1] = 127.0f;  // group 0: positions 1, 3
  x[3] = -2.0f;
  x[4] = 5.0f;    // group 1: one nonzero at 0, a zero kept at 1
  x[30] = 1.0f;   // group 7: the nonzero at 2, a zero kept at 0
  std::vector<uint8_t> b(22);
  quantize_row_q8_0_s24(x.data(), b.data(), 32);
  cpu::BlockQ8_0S24 blk;
  std::memcpy(&blk, b.data(), sizeof blk);
  EXPECT_EQ(blk.d, 0x3c00);  // amax 127 -> d = 1
  EXPECT_EQ(blk.qs[0], 127);
  EXPECT_EQ(blk.qs[1], -2);
  EXPECT_EQ(blk.qs[2], 5);
  EXPECT_EQ(blk.qs[3], 0);
  // idx[0] holds kept values 0..3: positions 1, 3 (group 0) and 0, 1 (group 1).
  EXPECT_EQ(blk.idx[0], 1 | 3 << 2 | 0 << 4 | 1 << 6);
  // Group 7 (kept values 14, 15 in idx[3] bits 4..7): the zero at 0, then the nonzero at 2.
  EXPECT_EQ(blk.idx[3] >> 4, 0 | 2 << 2);
  EXPECT_EQ(blk.qs[15], 1);
}

TEST(Sparse2of4, DenseGroupIsRefusedWithItsPosition) {
  std::vector<float> x(64, 0.0f);
  x[40] = x[41] = x[43] = 1.0f;  // group 10
  EXPECT_EQ(first_2of4_violation(x.data(), x.size()), 10);
  std::vector<uint8_t> b(44);
  try {
    quantize_row_q8_0_s24(x.data(), b.data(), x.size());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inputs 40..43"), std::string::npos) << e.what();
  }
  x[41] = 0.0f;
  EXPECT_EQ(first_2of4_violation(x.data(), x.size()), -1);
}

}  // namespace sparse_2of4_test
