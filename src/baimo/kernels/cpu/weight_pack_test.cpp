// Packed (16-row interleaved) weights give exactly the unpacked kernels' integer block dots on
// every ISA level, for row counts that are no multiple of 16, odd block counts and batch sizes
// across the 8-row activation tiles; with real scales they agree with the row-layout kernels.
#include "baimo/kernels/cpu/weight_pack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "baimo/quant/block_formats.h"
#include "baimo/util/error.h"

namespace weight_pack_test {
using namespace baimo;
using namespace baimo::cpu;
using namespace baimo::quant;

const CpuIsa kIsas[] = {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512Bw, CpuIsa::Avx512Vnni};

// Integer activations with max |x| = 127 per block: ActQ8 has d = 1 and quants = x.
std::vector<float> integer_activations(int64_t batch, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> x(batch * cols);
  for (auto& v : x) v = static_cast<float>(q(rng));
  for (int64_t i = 0; i < batch * cols; i += 32) x[i + rng() % 32] = (rng() & 1) ? 127.0f : -127.0f;
  return x;
}

std::vector<uint8_t> unit_scale_weights(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  const size_t bb = dtype_info(t).block_bytes;
  std::vector<uint8_t> w(rows * cols / 32 * bb);
  for (size_t off = 0; off < w.size(); off += bb) {
    w[off] = 0x00;
    w[off + 1] = 0x3c;  // f16 1.0
    for (size_t j = 2; j < bb; ++j) w[off + j] = static_cast<uint8_t>(rng());
  }
  return w;
}

TEST(WeightPack, PackedIntegerDotsEqualUnpackedOnEveryIsa) {
  std::mt19937 rng(5);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t cols : {32, 96, 896}) {
      for (int64_t rows : {16, 37, 160}) {
        auto wbytes = unit_scale_weights(t, rows, cols, rng);
        WeightMatrix plain{t, wbytes.data(), rows, cols};
        WeightMatrix packed = plain;
        auto owner = pack_weights_into(packed);
        ASSERT_NE(packed.packed, nullptr);
        for (int64_t batch : {1, 3, 8, 13}) {
          auto x = integer_activations(batch, cols, rng);
          std::vector<float> want(batch * rows);
          weight_matmul(plain, x.data(), batch, want.data(), CpuIsa::Scalar);
          for (CpuIsa isa : kIsas) {
            if (isa > best_isa()) continue;
            std::vector<float> y(batch * rows, -1.0f);
            weight_matmul(packed, x.data(), batch, y.data(), isa);
            for (size_t i = 0; i < y.size(); ++i)
              ASSERT_EQ(y[i], want[i]) << dtype_info(t).name << " " << isa_name(isa) << " rows " << rows << " cols "
                                       << cols << " batch " << batch << " i " << i;
          }
        }
      }
    }
  }
}

TEST(WeightPack, RealScalesMatchRowLayoutKernels) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 100, cols = 896, batch = 5;
  std::vector<float> wf(rows * cols), x(batch * cols);
  for (auto& v : wf) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    std::vector<uint8_t> wq(dtype_bytes(t, rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      void* dst = wq.data() + r * dtype_bytes(t, cols);
      if (t == DType::Q8_0) quantize_row_q8_0(wf.data() + r * cols, dst, cols);
      else quantize_row_q4_0(wf.data() + r * cols, dst, cols);
    }
    WeightMatrix plain{t, wq.data(), rows, cols};
    WeightMatrix packed = plain;
    auto owner = pack_weights_into(packed);
    std::vector<float> want(batch * rows), y(batch * rows);
    weight_matmul(plain, x.data(), batch, want.data(), CpuIsa::Scalar);
    for (CpuIsa isa : kIsas) {
      if (isa > best_isa()) continue;
      weight_matmul(packed, x.data(), batch, y.data(), isa);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-4f * (1 + std::fabs(want[i]))) << i;
    }
  }
}

TEST(WeightPack, RejectsWhatItCannotPack) {
  std::vector<uint8_t> buf(1024);
  WeightMatrix f{DType::F32, buf.data(), 4, 32};
  EXPECT_FALSE(packable(f));
  EXPECT_THROW(pack_weights_into(f), Error);
  WeightMatrix odd{DType::Q8_0, buf.data(), 2, 48};
  EXPECT_FALSE(packable(odd));
}

TEST(WeightPack, MultiMatmulEqualsOneCallPerMatrix) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t cols = 896;
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const int64_t rows[3] = {896, 128, 40};  // q, k, v-like; 40 is no multiple of 16
    std::vector<std::vector<uint8_t>> bytes(3);
    std::vector<std::shared_ptr<const void>> owners;
    WeightMatrix ws[3];
    for (int i = 0; i < 3; ++i) {
      std::vector<float> wf(rows[i] * cols);
      for (auto& v : wf) v = nd(rng);
      bytes[i].resize(dtype_bytes(t, rows[i] * cols));
      for (int64_t r = 0; r < rows[i]; ++r) {
        void* dst = bytes[i].data() + r * dtype_bytes(t, cols);
        if (t == DType::Q8_0) quantize_row_q8_0(wf.data() + r * cols, dst, cols);
        else quantize_row_q4_0(wf.data() + r * cols, dst, cols);
      }
      ws[i] = {t, bytes[i].data(), rows[i], cols};
      owners.push_back(pack_weights_into(ws[i]));
    }
    for (int64_t batch : {1, 5, 11}) {
      std::vector<float> x(batch * cols);
      for (auto& v : x) v = nd(rng);
      std::vector<std::vector<float>> want(3), got(3);
      for (int i = 0; i < 3; ++i) {
        want[i].resize(batch * rows[i]);
        got[i].assign(batch * rows[i], -1.0f);
        weight_matmul(ws[i], x.data(), batch, want[i].data());
      }
      const WeightMatrix* wp[3] = {&ws[0], &ws[1], &ws[2]};
      float* yp[3] = {got[0].data(), got[1].data(), got[2].data()};
      weight_matmul_multi(wp, x.data(), batch, yp);
      for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << dtype_info(t).name << " matrix " << i;
      // Unpacked matrices take the one-call-per-matrix path.
      WeightMatrix plain = ws[2];
      plain.packed = nullptr;
      const WeightMatrix* mixed[2] = {&ws[0], &plain};
      float* ymixed[2] = {got[0].data(), got[2].data()};
      weight_matmul_multi(mixed, x.data(), batch, ymixed);
      EXPECT_EQ(got[0], want[0]);
    }
  }
}

}  // namespace weight_pack_test
