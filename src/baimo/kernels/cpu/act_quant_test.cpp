#include "baimo/kernels/cpu/act_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace baimo::cpu;

// The vectorized quantizer inside ActQ8 equals the reference block by block, including exact
// half-way products (which roundf sends away from zero), zeros, tiny and huge magnitudes.
TEST(ActQuant, MatchesReferenceBitForBit) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 11, cols = 32 * 41;  // a full tile of 8 rows and a partial one of 3
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t blk = i / 32;
    switch (blk % 5) {
      case 0: x[i] = nd(rng); break;
      case 1: x[i] = (static_cast<int>(rng() % 255) - 127) * 0.5f; break;  // amax 63.5: halves at .5
      case 2: x[i] = 0.0f; break;
      case 3: x[i] = nd(rng) * 1e-30f; break;
      default: x[i] = nd(rng) * 1e30f; break;
    }
  }
  for (int64_t b = 1; b < rows * cols / 32; b += 5) x[b * 32 + 3] = 63.5f;  // pin amax of the half blocks
  for (ActLayout layout : {ActLayout::Plain, ActLayout::PairsQ8, ActLayout::PairsQ4}) {
    ActQ8 a;
    a.quantize(x.data(), rows, cols, layout);
    ASSERT_EQ(a.padded_blocks, 42);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < a.padded_blocks; ++b) {
        int8_t q[32] = {};
        float d = 0;
        int32_t s = 0;
        if (b < a.blocks) quantize_act_block_ref(&x[r * cols + b * 32], q, &d, &s);
        ASSERT_EQ(a.row_d(r)[b], d);
        ASSERT_EQ(a.row_sum(r)[b], s);
        for (int j = 0; j < 32; ++j) ASSERT_EQ(a.row_qs(r)[b * 32 + j], q[j]) << "row " << r << " block " << b;
        if (layout != ActLayout::Plain) {
          // Tiled entry of (row r, pair b/2): tiles of 8 rows, entry p * tile_rows + row-in-tile.
          const int64_t t0 = r / 8 * 8, nt = std::min<int64_t>(8, rows - t0);
          const int64_t e = t0 * a.padded_blocks / 2 + (b / 2) * nt + (r - t0);
          ASSERT_EQ(a.pair_entry(r, b / 2), e);
          for (int j = 0; j < 32; ++j) {
            const int64_t pos = layout == ActLayout::PairsQ4 ? (j / 16) * 32 + (b % 2) * 16 + j % 16 : (b % 2) * 32 + j;
            ASSERT_EQ(a.pair_qs[e * 64 + pos], q[j]) << "row " << r << " block " << b << " j " << j;
          }
          EXPECT_EQ(a.pair_meta[e].d[b % 2], d);
          EXPECT_EQ(a.pair_meta[e].corr[b % 2], layout == ActLayout::PairsQ8 ? -16 * s : -s);
        }
      }
  }
  // The half-way cases really occur and go away from zero: 0.5 * 2 = 1.0 ... check one directly.
  float blk[32] = {};
  blk[0] = 127.0f;
  blk[1] = 2.5f;
  blk[2] = -2.5f;
  int8_t q[32];
  float d;
  int32_t s;
  quantize_act_block_ref(blk, q, &d, &s);
  EXPECT_EQ(d, 1.0f);
  EXPECT_EQ(q[1], 3);
  EXPECT_EQ(q[2], -3);
  ActQ8 a;
  a.quantize(blk, 1, 32);
  EXPECT_EQ(a.row_qs(0)[1], 3);
  EXPECT_EQ(a.row_qs(0)[2], -3);
  EXPECT_EQ(a.row_sum(0)[0], 127);
}
