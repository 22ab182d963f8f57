#include "baimo/quant/row_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "baimo/quant/block_formats.h"
#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::quant;

// Every codec round-trips a random row within its format's precision, writes exactly
// dtype_bytes(t, n) bytes, and agrees with the format's own function.
TEST(RowConvert, RoundTripEveryType) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t n = 512;
  std::vector<float> x(n);
  for (auto& v : x) v = nd(rng);
  const std::pair<DType, double> cases[] = {{DType::F32, 0.0},     {DType::F16, 1e-3},  {DType::BF16, 8e-3},
                                            {DType::Q8_0, 1e-2},   {DType::Q4_0, 0.15}, {DType::Q4_K, 0.12},
                                            {DType::Q6_K, 0.03}};
  for (auto [t, tol] : cases) {
    const size_t bytes = dtype_bytes(t, n);
    std::vector<uint8_t> buf(bytes + 16, 0xAB);
    quantize_row(t, x.data(), buf.data(), n);
    for (size_t i = bytes; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xAB) << dtype_info(t).name << " wrote past the end";
    std::vector<float> y(n);
    dequantize_row(t, buf.data(), y.data(), n);
    double err = 0, ref = 0;
    for (size_t i = 0; i < n; ++i) err += (x[i] - y[i]) * (x[i] - y[i]), ref += x[i] * x[i];
    EXPECT_LE(std::sqrt(err / ref), tol) << dtype_info(t).name;
    if (t == DType::F32) {
      EXPECT_EQ(y, x);
    }
  }
  std::vector<uint8_t> a(dtype_bytes(DType::Q4_0, n)), b(a.size());
  quantize_row(DType::Q4_0, x.data(), a.data(), n);
  quantize_row_q4_0(x.data(), b.data(), n);
  EXPECT_EQ(a, b);
}

TEST(RowConvert, RejectsBadCountsAndTypes) {
  std::vector<float> x(300);
  std::vector<uint8_t> buf(4096);
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), buf.data(), 40), Error);
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), buf.data(), 288), Error);
  EXPECT_THROW(dequantize_row(DType::I32, buf.data(), x.data(), 4), Error);
}
