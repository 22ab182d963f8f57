#include "baimo/quant/block_formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "baimo/kernels/half_float.h"

namespace block_formats_test {
using namespace baimo;
using namespace baimo::quant;

std::vector<uint8_t> q8(const std::vector<float>& x) {
  std::vector<uint8_t> out(x.size() / 32 * 34);
  quantize_row_q8_0(x.data(), out.data(), x.size());
  return out;
}
std::vector<uint8_t> q4(const std::vector<float>& x) {
  std::vector<uint8_t> out(x.size() / 32 * 18);
  quantize_row_q4_0(x.data(), out.data(), x.size());
  return out;
}

// amax = 127 makes d = 1 (f16 0x3c00) and the quants plain roundf(x): half-way cases go away
// from zero (2.5 -> 3, -0.5 -> -1), unlike round-to-even.
TEST(BlockFormats, Q8_0HandComputedBlock) {
  std::vector<float> x(32, 0.0f);
  const float in[] = {127.0f, -3.5f, 2.5f, 0.49999997f, -0.5f, -126.6f, 1.49f, -127.0f};
  const int8_t want[] = {127, -4, 3, 0, -1, -127, 1, -127};
  for (int i = 0; i < 8; ++i) x[i] = in[i];
  x[31] = 64.5f;
  auto b = q8(x);
  ASSERT_EQ(b.size(), 34u);
  EXPECT_EQ(b[0], 0x00);  // d = 1.0 as little-endian f16 0x3c00
  EXPECT_EQ(b[1], 0x3c);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(static_cast<int8_t>(b[2 + i]), want[i]) << i;
  for (int i = 8; i < 31; ++i) EXPECT_EQ(b[2 + i], 0) << i;
  EXPECT_EQ(static_cast<int8_t>(b[33]), 65);
}

// x = j - 16: amax 16, d = 16/127 = 0.1259842..., f16(d) = 0x3008 (0.12597656), id = 7.9375
// exactly in f32, so q = roundf((j-16) * 7.9375).
TEST(BlockFormats, Q8_0ScaleRoundsToF16ButQuantsUseF32Scale) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  auto b = q8(x);
  EXPECT_EQ(b[0] | (b[1] << 8), 0x3008);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 0]), -127);   // -16 * 7.9375 = -127
  EXPECT_EQ(static_cast<int8_t>(b[2 + 1]), -119);   // -119.0625
  EXPECT_EQ(static_cast<int8_t>(b[2 + 14]), -16);   // -15.875
  EXPECT_EQ(static_cast<int8_t>(b[2 + 16]), 0);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 31]), 119);   // 119.0625
}

// The element of largest magnitude is -8: d = -8/-8 = 1, q = min(15, (int8)(x + 8.5)).
TEST(BlockFormats, Q4_0HandComputedBlock) {
  std::vector<float> x(32, 0.0f);  // 0 -> q 8
  x[0] = -8.0f;   // 0.5 -> 0
  x[1] = 7.0f;    // 15.5 -> 15
  x[2] = 7.9f;    // 16.4 -> clamped 15
  x[3] = -0.6f;   // 7.9 -> 7 (truncation)
  x[4] = 0.5f;    // 9.0 -> 9
  x[16] = 3.0f;   // 11.5 -> 11, high nibble of byte 0
  x[17] = -7.5f;  // 1.0 -> 1, high nibble of byte 1
  x[31] = -1.0f;  // 7.5 -> 7, high nibble of byte 15
  auto b = q4(x);
  ASSERT_EQ(b.size(), 18u);
  EXPECT_EQ(b[0], 0x00);  // d = 1.0 -> f16 0x3c00
  EXPECT_EQ(b[1], 0x3c);
  const uint8_t want[16] = {0xB0, 0x1F, 0x8F, 0x87, 0x89, 0x88, 0x88, 0x88,
                            0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x78};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(b[2 + i], want[i]) << i;
}

// A positive extreme gives a negative scale: max 8 -> d = -1 (f16 0xbc00), q = min(15, (int8)(8.5 - x)).
TEST(BlockFormats, Q4_0PositiveMaxGivesNegativeScale) {
  std::vector<float> x(32, 1.0f);  // 7.5 -> 7
  x[5] = 8.0f;                     // 0.5 -> 0
  x[6] = -8.0f;                    // same magnitude later: the first one (8) stays the max
  x[20] = -7.6f;                   // 16.1 -> 15
  auto b = q4(x);
  EXPECT_EQ(b[0] | (b[1] << 8), 0xbc00);
  EXPECT_EQ(b[2 + 5], 0x70);   // low: x[5] -> 0, high: x[21] = 1 -> 7
  EXPECT_EQ(b[2 + 6], 0x7F);   // low: x[6] = -8 -> 16.5 -> 15 (clamp)
  EXPECT_EQ(b[2 + 4], 0xF7);   // high: x[20] -> 15
}

TEST(BlockFormats, ZeroBlocks) {
  std::vector<float> x(64, 0.0f);
  auto b8 = q8(x);
  for (uint8_t v : b8) EXPECT_EQ(v, 0);
  auto b4 = q4(x);
  EXPECT_EQ(b4[0], 0x00);  // d = 0.0f / -8 = -0.0f: f16 0x8000, as ggml writes it
  EXPECT_EQ(b4[1], 0x80);
  for (int i = 2; i < 18; ++i) EXPECT_EQ(b4[i], 0x88);
  std::vector<float> y(64, 1.0f);
  dequantize_row_q4_0(b4.data(), y.data(), 64);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(BlockFormats, DequantizeKnownBytes) {
  uint8_t b8[34] = {0x00, 0x38};  // d = 0.5
  b8[2] = 0x81;                   // -127
  b8[3] = 0x07;
  std::vector<float> y(32);
  dequantize_row_q8_0(b8, y.data(), 32);
  EXPECT_EQ(y[0], -63.5f);
  EXPECT_EQ(y[1], 3.5f);
  EXPECT_EQ(y[2], 0.0f);
  uint8_t b4[18] = {0x00, 0xc0};  // d = -2
  b4[2] = 0xF0;                   // element 0: q 0 -> 16; element 16: q 15 -> -14
  dequantize_row_q4_0(b4, y.data(), 32);
  EXPECT_EQ(y[0], 16.0f);
  EXPECT_EQ(y[16], -14.0f);
  EXPECT_EQ(y[1], 16.0f);  // nibble 0 again
}

// Random rows: error within half a step (Q8_0), and within one step for Q4_0 (the side opposite the
// extreme can be clamped at 15, i.e. 7|d| for a value up to 8|d|); round trip is stable.
TEST(BlockFormats, ErrorBoundsOnRandomRows) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t n = 32 * 200;
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = nd(rng) * std::exp(nd(rng));  // mixed magnitudes across blocks
  auto b8 = q8(x);
  dequantize_row_q8_0(b8.data(), y.data(), n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t dh;
    std::memcpy(&dh, &b8[(i / 32) * 34], 2);
    const float d = f16_bits_to_f32(dh);
    // d is rounded to f16 (rel. err 2^-11) but quants use the exact f32 scale.
    EXPECT_LE(std::fabs(x[i] - y[i]), 0.5f * d + 127 * d * 0x1p-11f + 1e-6f) << i;
  }
  auto b4 = q4(x);
  dequantize_row_q4_0(b4.data(), y.data(), n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t dh;
    std::memcpy(&dh, &b4[(i / 32) * 18], 2);
    const float d = std::fabs(f16_bits_to_f32(dh));
    EXPECT_LE(std::fabs(x[i] - y[i]), d + 8 * d * 0x1p-11f + 1e-6f) << i;
  }
  // Re-quantizing a dequantized Q8_0 row gives the same bytes back (fixed point).
  std::vector<float> z(n);
  dequantize_row_q8_0(b8.data(), z.data(), n);
  EXPECT_EQ(q8(z), b8);
}

// ggml's reference rounds x*id to f32 and then adds 8.5; a fused multiply-add (which the build's
// default -ffp-contract=fast would produce) truncates differently when x*id lies just beyond
// -(k + 0.5). Find such inputs and check the quantizer takes the unfused path.
TEST(BlockFormats, Q4_0ProductIsRoundedBeforeTheOffset) {
  int found = 0;
  for (float c : {1.1f, 1.3f, 0.7f, 3.3f, 0.013f, 5.9f, 0.37f}) {
    std::vector<float> x(32, 0.0f);
    x[0] = 8.0f * c;  // the extreme: d = -c
    const float d = x[0] / -8.0f;
    const float id = 1.0f / d;
    for (float target = 0.5f; target < 7.6f; target += 1.0f) {
      float v = target * c;
      for (int step = 0; step < 400; ++step, v = std::nextafter(v, 0.0f)) {
        volatile float prod = v * id;  // volatile: rounded to f32, never fused
        const int unfused = static_cast<int8_t>(prod + 8.5f);
        const int fused = static_cast<int8_t>(std::fma(v, id, 8.5f));
        if (unfused == fused) continue;
        x[1] = v;
        auto b = q4(x);
        EXPECT_EQ(b[2 + 1] & 0x0F, std::min(unfused, 15)) << "c " << c << " v " << v;
        ++found;
        break;
      }
    }
  }
  EXPECT_GT(found, 0) << "no input where fused and unfused rounding differ was found";
}

}  // namespace block_formats_test
