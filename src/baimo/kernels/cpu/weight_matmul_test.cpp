#include "baimo/kernels/cpu/weight_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "baimo/quant/block_formats.h"
#include "baimo/kernels/half_float.h"
#include "baimo/util/error.h"

namespace weight_matmul_test {
using namespace baimo;
using namespace baimo::cpu;
using namespace baimo::quant;

const CpuIsa kIsas[] = {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512Bw, CpuIsa::Avx512Vnni};

// Activations whose every block has max |x| = 127 and integer entries: ActQ8 then has d = 1 and
// quants equal to x, so every kernel's result is an exact integer (all sums stay below 2^24).
std::vector<float> integer_activations(int64_t batch, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> x(batch * cols);
  for (auto& v : x) v = static_cast<float>(q(rng));
  for (int64_t i = 0; i < batch * cols; i += 32) x[i + rng() % 32] = (rng() & 1) ? 127.0f : -127.0f;
  return x;
}

// Weight rows of blocks with d = 1.0 and random quants (Q8_0 including -128, which ggml never
// writes but a foreign file may hold).
std::vector<uint8_t> unit_scale_weights(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  const size_t bb = dtype_info(t).block_bytes;
  std::vector<uint8_t> w(rows * cols / 32 * bb);
  for (size_t off = 0; off < w.size(); off += bb) {
    w[off] = 0x00;
    w[off + 1] = 0x3c;
    for (size_t j = 2; j < bb; ++j) w[off + j] = static_cast<uint8_t>(rng());
  }
  return w;
}

int exact_weight(DType t, const uint8_t* row, int64_t k) {
  const uint8_t* blk = row + (k / 32) * dtype_info(t).block_bytes + 2;
  const int j = k % 32;
  if (t == DType::Q8_0) return static_cast<int8_t>(blk[j]);
  return (j < 16 ? (blk[j] & 15) : (blk[j - 16] >> 4)) - 8;
}

// The integer block dot products are exact on every ISA level, for every batch size (tiles of 8
// plus remainders), an odd number of blocks per row (the AVX-512 pair tail) and a row count that
// is no multiple of the row chunk.
TEST(WeightMatmul, QuantizedIntegerDotsExactOnEveryIsa) {
  std::mt19937 rng(3);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t cols : {32, 64, 864, 896}) {
      const int64_t rows = 37;
      auto w = unit_scale_weights(t, rows, cols, rng);
      const size_t row_bytes = dtype_bytes(t, cols);
      for (int64_t batch : {1, 2, 3, 5, 8, 11}) {
        auto x = integer_activations(batch, cols, rng);
        std::vector<float> want(batch * rows);
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t r = 0; r < rows; ++r) {
            int64_t s = 0;
            for (int64_t k = 0; k < cols; ++k)
              s += exact_weight(t, w.data() + r * row_bytes, k) * static_cast<int64_t>(x[b * cols + k]);
            want[b * rows + r] = static_cast<float>(s);
          }
        for (CpuIsa isa : kIsas) {
          if (isa > best_isa()) continue;
          std::vector<float> y(batch * rows, -1.0f);
          weight_matmul({t, w.data(), rows, cols}, x.data(), batch, y.data(), isa);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_EQ(y[i], want[i]) << dtype_info(t).name << " " << isa_name(isa) << " cols " << cols
                                     << " batch " << batch << " i " << i;
        }
      }
    }
  }
}

// Real-valued weights and activations: against dequantize(W) times x in double. The only error
// beyond f32 rounding is the activation quantization, bounded per output by
// sum_k |w_k| * d_x(k) / 2. Every ISA level also agrees with the scalar kernel to f32 tolerance.
TEST(WeightMatmul, QuantizedMatchesDequantizedReference) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 53, cols = 4 * 32 + 32 * 3;  // 7 blocks
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    std::vector<float> wf(rows * cols);
    for (auto& v : wf) v = nd(rng) * 0.05f;
    const size_t row_bytes = dtype_bytes(t, cols);
    std::vector<uint8_t> w(rows * row_bytes);
    std::vector<float> wd(rows * cols);
    for (int64_t r = 0; r < rows; ++r) {
      if (t == DType::Q8_0) {
        quantize_row_q8_0(&wf[r * cols], &w[r * row_bytes], cols);
        dequantize_row_q8_0(&w[r * row_bytes], &wd[r * cols], cols);
      } else {
        quantize_row_q4_0(&wf[r * cols], &w[r * row_bytes], cols);
        dequantize_row_q4_0(&w[r * row_bytes], &wd[r * cols], cols);
      }
    }
    for (int64_t batch : {1, 4, 9}) {
      std::vector<float> x(batch * cols);
      for (auto& v : x) v = nd(rng) * 3.0f;
      std::vector<float> scalar(batch * rows);
      weight_matmul({t, w.data(), rows, cols}, x.data(), batch, scalar.data(), CpuIsa::Scalar);
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t r = 0; r < rows; ++r) {
          double ref = 0, bound = 0, mag = 0;
          for (int64_t k0 = 0; k0 < cols; k0 += 32) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * cols + k0 + j]));
            for (int j = 0; j < 32; ++j) {
              const double wv = wd[r * cols + k0 + j];
              ref += wv * x[b * cols + k0 + j];
              bound += std::fabs(wv) * amax / 127.0 / 2;
              mag += std::fabs(wv * x[b * cols + k0 + j]);
            }
          }
          EXPECT_NEAR(scalar[b * rows + r], ref, bound + 1e-5 * mag + 1e-6) << dtype_info(t).name;
        }
      for (CpuIsa isa : kIsas) {
        if (isa == CpuIsa::Scalar || isa > best_isa()) continue;
        std::vector<float> y(batch * rows);
        weight_matmul({t, w.data(), rows, cols}, x.data(), batch, y.data(), isa);
        for (size_t i = 0; i < y.size(); ++i)
          EXPECT_NEAR(y[i], scalar[i], 1e-5 * (std::fabs(scalar[i]) + 1.0)) << isa_name(isa) << " " << i;
      }
    }
  }
}

// Float weights (F32, F16, BF16): against a double-precision reference over the exactly converted
// weights, column counts with vector tails, batches across the tile sizes (4x4 tiles and their
// leftover rows / columns).
TEST(WeightMatmul, FloatWeightsMatchDoubleReference) {
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t cols : {7, 100, 256}) {
    const int64_t rows = 19;
    std::vector<float> wf(rows * cols);
    for (auto& v : wf) v = nd(rng);
    std::vector<uint16_t> wh(rows * cols), wb(rows * cols);
    f32_to_f16_row(wf.data(), wh.data(), wf.size());
    f32_to_bf16_row(wf.data(), wb.data(), wf.size());
    for (DType t : {DType::F32, DType::F16, DType::BF16}) {
      const void* data = t == DType::F32 ? static_cast<const void*>(wf.data())
                         : t == DType::F16 ? static_cast<const void*>(wh.data())
                                           : static_cast<const void*>(wb.data());
      std::vector<float> wexact(rows * cols);
      for (size_t i = 0; i < wexact.size(); ++i)
        wexact[i] = t == DType::F32 ? wf[i] : t == DType::F16 ? f16_bits_to_f32(wh[i]) : bf16_bits_to_f32(wb[i]);
      for (int64_t batch : {1, 3, 4, 7, 8, 10, 16}) {
        std::vector<float> x(batch * cols);
        for (auto& v : x) v = nd(rng);
        for (CpuIsa isa : kIsas) {
          if (isa > best_isa()) continue;
          std::vector<float> y(batch * rows);
          weight_matmul({t, data, rows, cols}, x.data(), batch, y.data(), isa);
          for (int64_t b = 0; b < batch; ++b)
            for (int64_t r = 0; r < rows; ++r) {
              double ref = 0, mag = 0;
              for (int64_t k = 0; k < cols; ++k) {
                ref += static_cast<double>(wexact[r * cols + k]) * x[b * cols + k];
                mag += std::fabs(static_cast<double>(wexact[r * cols + k]) * x[b * cols + k]);
              }
              EXPECT_NEAR(y[b * rows + r], ref, 1e-6 * mag + 1e-6) << dtype_info(t).name << " " << isa_name(isa);
            }
        }
      }
    }
  }
}

TEST(WeightMatmul, RejectsBadShapesAndTypes) {
  std::vector<uint8_t> w(1024);
  std::vector<float> x(64), y(64);
  EXPECT_THROW(weight_matmul({DType::Q8_0, w.data(), 1, 40}, x.data(), 1, y.data()), Error);
  EXPECT_THROW(weight_matmul({DType::I32, w.data(), 1, 8}, x.data(), 1, y.data()), Error);
}

}  // namespace weight_matmul_test
