// Packed 2:4-sparse Q8_0 (Q8_0_S24) products equal packed dense Q8_0's on the same weights bit for bit,
// on the scalar level and on the VBMI kernel (with AVX-512 VNNI + VBMI), for row counts no multiple of
// 16, several block counts and batch sizes across the 8-row activation tiles; also through
// weight_matmul_multi and as the dense fallback (pack_expanded_q8_0).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "baimo/kernels/cpu/weight_matmul.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace packed_s24_test {
using namespace baimo;
using namespace baimo::cpu;

// A 2:4-sparse matrix in both forms, packed.
struct Pair {
  std::vector<uint8_t> s24_rows, q8_rows;
  WeightMatrix s24, q8;
  std::shared_ptr<const void> s24_owner, q8_owner;
};

Pair make_pair(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(rows * cols);
  for (int64_t i = 0; i < rows * cols; i += 4) {
    const int zero0 = static_cast<int>(rng() % 4), zero1 = (zero0 + 1 + static_cast<int>(rng() % 3)) % 4;
    for (int j = 0; j < 4; ++j) f[i + j] = (j == zero0 || j == zero1) ? 0.0f : nd(rng);
  }
  Pair p;
  p.s24_rows.resize(dtype_bytes(DType::Q8_0_S24, rows * cols));
  p.q8_rows.resize(dtype_bytes(DType::Q8_0, rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    quant::quantize_row(DType::Q8_0_S24, f.data() + r * cols, p.s24_rows.data() + r * dtype_bytes(DType::Q8_0_S24, cols), cols);
    quant::quantize_row(DType::Q8_0, f.data() + r * cols, p.q8_rows.data() + r * dtype_bytes(DType::Q8_0, cols), cols);
  }
  p.s24 = {DType::Q8_0_S24, p.s24_rows.data(), rows, cols};
  p.q8 = {DType::Q8_0, p.q8_rows.data(), rows, cols};
  p.s24_owner = pack_weights_into(p.s24);
  p.q8_owner = pack_weights_into(p.q8);
  return p;
}

std::vector<float> activations(int64_t batch, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(batch * cols);
  for (auto& v : x) v = nd(rng);
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(PackedS24, EqualsPackedQ8_0BitForBit) {
  std::mt19937 rng(21);
  std::vector<CpuIsa> isas = {CpuIsa::Scalar};
  if (cpu_has_avx512_vbmi()) isas.push_back(CpuIsa::Avx512Vnni);
  else GTEST_LOG_(INFO) << "no AVX-512 VBMI here: only the scalar 2:4 kernel is checked";
  for (int64_t cols : {32, 96, 896}) {
    for (int64_t rows : {16, 37, 160}) {
      Pair p = make_pair(rows, cols, rng);
      ASSERT_NE(p.s24.packed, nullptr);
      for (int64_t batch : {1, 3, 8, 13}) {
        const std::vector<float> x = activations(batch, cols, rng);
        for (CpuIsa isa : isas) {
          std::vector<float> want(batch * rows), got(batch * rows, -1.0f);
          weight_matmul(p.q8, x.data(), batch, want.data(), isa);
          weight_matmul(p.s24, x.data(), batch, got.data(), isa);
          EXPECT_TRUE(same_bits(got, want)) << isa_name(isa) << " rows " << rows << " cols " << cols << " batch "
                                            << batch;
        }
      }
    }
  }
}

TEST(PackedS24, MultiAndDenseFallbackEqualQ8_0) {
  std::mt19937 rng(22);
  const int64_t cols = 256;
  Pair q = make_pair(128, cols, rng), k = make_pair(40, cols, rng);
  for (int64_t batch : {1, 9}) {
    const std::vector<float> x = activations(batch, cols, rng);
    std::vector<float> wq(batch * 128), wk(batch * 40), gq(batch * 128, -1.0f), gk(batch * 40, -1.0f);
    weight_matmul(q.q8, x.data(), batch, wq.data());
    weight_matmul(k.q8, x.data(), batch, wk.data());
    const WeightMatrix* ws[2] = {&q.s24, &k.s24};
    float* ys[2] = {gq.data(), gk.data()};
    weight_matmul_multi(ws, x.data(), batch, ys);
    EXPECT_TRUE(same_bits(gq, wq) && same_bits(gk, wk)) << "batch " << batch;
    // Without VBMI the engine packs the 2:4 rows as dense Q8_0: same products as the Q8_0 matrix.
    WeightMatrix expanded{DType::Q8_0_S24, q.s24_rows.data(), 128, cols};
    auto owner = pack_expanded_q8_0(expanded);
    EXPECT_EQ(expanded.type, DType::Q8_0);
    EXPECT_EQ(expanded.data, nullptr);
    std::vector<float> ge(batch * 128, -1.0f);
    weight_matmul(expanded, x.data(), batch, ge.data());
    EXPECT_TRUE(same_bits(ge, wq)) << "batch " << batch;
  }
}

TEST(PackedS24, UnpackedRowsAreRefused) {
  std::mt19937 rng(23);
  Pair p = make_pair(16, 64, rng);
  WeightMatrix rows_only{DType::Q8_0_S24, p.s24_rows.data(), 16, 64};
  std::vector<float> x(64, 1.0f), y(16);
  EXPECT_THROW(weight_matmul(rows_only, x.data(), 1, y.data()), Error);
  WeightMatrix q8{DType::Q8_0, p.q8_rows.data(), 16, 64};
  EXPECT_THROW(pack_expanded_q8_0(q8), Error);
}

}  // namespace packed_s24_test
