#include "baimo/quant/kquant_formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "baimo/kernels/half_float.h"

using namespace baimo;
using namespace baimo::quant;

// Integers in [-32, 31] whose every 16-element sub-block reaches -32 are fitted exactly: scale 1
// per sub-block, super-block d = f16(1 / -128) = 0xa000, sub-block scales -128, quants x + 32.
TEST(KQuantFormats, Q6_KExactIntegersHandComputedBytes) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>((i * 7) % 64 - 32);
  for (int s = 0; s < 16; ++s) x[16 * s + 5] = -32.0f;
  BlockQ6_K b;
  quantize_row_q6_K(x.data(), &b, 256);
  EXPECT_EQ(b.d, 0xa000);
  for (int s = 0; s < 16; ++s) EXPECT_EQ(b.scales[s], -128) << s;
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int base = 128 * h + l;
      const int q1 = static_cast<int>(x[base]) + 32, q2 = static_cast<int>(x[base + 32]) + 32;
      const int q3 = static_cast<int>(x[base + 64]) + 32, q4 = static_cast<int>(x[base + 96]) + 32;
      EXPECT_EQ(b.ql[64 * h + l], (q1 & 15) | ((q3 & 15) << 4));
      EXPECT_EQ(b.ql[64 * h + l + 32], (q2 & 15) | ((q4 & 15) << 4));
      EXPECT_EQ(b.qh[32 * h + l], (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  std::vector<float> y(256);
  dequantize_row_q6_K(&b, y.data(), 256);
  EXPECT_EQ(y, x);
}

// Integers 0..15 in every 32-element sub-block: each sub-block fits with scale 1 and min 0, so the
// 6-bit scales are all 63 (bytes 0..3 = 63 | 3 << 6, bytes 8..11 = 0x0f), mins 0, d = f16(1/63),
// dmin 0, and the nibbles are the inputs (element l low, element l + 32 high, per 64).
TEST(KQuantFormats, Q4_KExactIntegersHandComputedBytes) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>((i * 5) % 16);
  for (int s = 0; s < 8; ++s) {
    x[32 * s + 1] = 0.0f;
    x[32 * s + 2] = 15.0f;
  }
  BlockQ4_K b;
  quantize_row_q4_K(x.data(), &b, 256);
  EXPECT_EQ(b.d, f32_to_f16_bits(1.0f / 63.0f));
  EXPECT_EQ(b.dmin, 0);
  const uint8_t want_scales[12] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x0f, 0x0f, 0x0f, 0x0f};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(b.scales[i], want_scales[i]) << i;
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      EXPECT_EQ(b.qs[32 * c + l], static_cast<int>(x[64 * c + l]) | (static_cast<int>(x[64 * c + l + 32]) << 4));
  std::vector<float> y(256);
  dequantize_row_q4_K(&b, y.data(), 256);
  const float d = f16_bits_to_f32(b.d) * 63.0f;
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], d * x[i]);
}

// Dequantization of hand-packed bytes: distinct 6-bit scales/mins per sub-block, including the
// high-bit packing of sub-blocks 4..7.
TEST(KQuantFormats, Q4_KDequantizeHandPackedScales) {
  BlockQ4_K b{};
  b.d = f32_to_f16_bits(0.5f);
  b.dmin = f32_to_f16_bits(0.25f);
  const int sc[8] = {1, 2, 3, 4, 17, 33, 50, 63}, mn[8] = {0, 5, 10, 63, 16, 31, 48, 7};
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j]);
    b.scales[j + 4] = static_cast<uint8_t>(mn[j]);
  }
  for (int j = 4; j < 8; ++j) {
    b.scales[j + 4] = static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
    b.scales[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
    b.scales[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
  }
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  std::vector<float> y(256);
  dequantize_row_q4_K(&b, y.data(), 256);
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32, c = i / 64, l = i % 32;
    const uint8_t byte = b.qs[32 * c + l];
    const int q = (i % 64) < 32 ? (byte & 15) : (byte >> 4);
    EXPECT_EQ(y[i], 0.5f * sc[j] * q - 0.25f * mn[j]) << i;
  }
}

TEST(KQuantFormats, Q6_KDequantizeHandPackedBytes) {
  BlockQ6_K b{};
  b.d = f32_to_f16_bits(0.125f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s * 9 - 70);
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i * 37);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(i * 101 + 3);
  std::vector<float> y(256);
  dequantize_row_q6_K(&b, y.data(), 256);
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    const uint8_t lo = b.ql[64 * h + l + (quarter & 1) * 32];
    const int low = quarter < 2 ? (lo & 15) : (lo >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * quarter)) & 3;
    const int q = (low | (high << 4)) - 32;
    EXPECT_EQ(y[i], 0.125f * b.scales[i / 16] * q) << i;
  }
}

// Random rows with mixed magnitudes: the error stays within a fraction of each sub-block's range.
TEST(KQuantFormats, RandomRowsErrorBounds) {
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t n = 256 * 16;
  std::vector<float> x(n), y(n);
  for (size_t i = 0; i < n; ++i) x[i] = nd(rng) * (1.0f + (i / 256) % 4) * 0.01f;
  std::vector<uint8_t> q6(n / 256 * 210), q4(n / 256 * 144);
  quantize_row_q6_K(x.data(), q6.data(), n);
  dequantize_row_q6_K(q6.data(), y.data(), n);
  for (size_t s = 0; s < n; s += 16) {
    float amax = 0;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[s + i]));
    for (int i = 0; i < 16; ++i) EXPECT_LE(std::fabs(x[s + i] - y[s + i]), amax / 31.0f * 1.2f) << s + i;
  }
  quantize_row_q4_K(x.data(), q4.data(), n);
  dequantize_row_q4_K(q4.data(), y.data(), n);
  double err = 0, ref = 0;
  for (size_t s = 0; s < n; s += 32) {
    float lo = 0, hi = 0;
    for (int i = 0; i < 32; ++i) lo = std::min(lo, x[s + i]), hi = std::max(hi, x[s + i]);
    for (int i = 0; i < 32; ++i) EXPECT_LE(std::fabs(x[s + i] - y[s + i]), (hi - lo) / 15.0f * 1.5f) << s + i;
  }
  for (size_t i = 0; i < n; ++i) err += (x[i] - y[i]) * (x[i] - y[i]), ref += x[i] * x[i];
  EXPECT_LT(std::sqrt(err / ref), 0.12);  // 4.5 bits per weight
  // All-zero super-blocks.
  std::vector<float> z(256, 0.0f), zy(256, 1.0f);
  BlockQ6_K b6;
  quantize_row_q6_K(z.data(), &b6, 256);
  dequantize_row_q6_K(&b6, zy.data(), 256);
  for (float v : zy) EXPECT_EQ(v, 0.0f);
  BlockQ4_K b4;
  quantize_row_q4_K(z.data(), &b4, 256);
  dequantize_row_q4_K(&b4, zy.data(), 256);
  for (float v : zy) EXPECT_EQ(v, 0.0f);
}
