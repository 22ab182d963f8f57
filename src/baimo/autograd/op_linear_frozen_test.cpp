// linear_frozen / embedding_frozen against the f32 ops on the dequantized weights: forward, dx and
// db for every storage type, several row counts and tile-edge shapes; Q8_0 / Q4_0 held as the packed
// copy alone give the same results as their rows; finite differences of dx; clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/backend.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace op_linear_frozen_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

// A random (rows, cols) matrix stored in `type`, and its dequantized f32 values.
struct StoredMatrix {
  std::vector<uint8_t> bytes;
  std::vector<float> dequant;
  WeightMatrix w;
};

StoredMatrix stored(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  StoredMatrix s;
  Tensor f = random_tensor({rows, cols}, seed, -0.5f, 0.5f);
  const size_t rb = dtype_bytes(type, static_cast<size_t>(cols));
  s.bytes.resize(rb * static_cast<size_t>(rows));
  s.dequant.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    quant::quantize_row(type, f.data<float>() + r * cols, s.bytes.data() + r * rb, static_cast<size_t>(cols));
    quant::dequantize_row(type, s.bytes.data() + r * rb, s.dequant.data() + r * cols, static_cast<size_t>(cols));
  }
  s.w = WeightMatrix{type, s.bytes.data(), rows, cols};
  return s;
}

class LinearFrozen : public ::testing::TestWithParam<DType> {};

TEST_P(LinearFrozen, ForwardAndGradientsMatchLinearOnDequantizedWeights) {
  const DType type = GetParam();
  // (out, in) shapes: partial row / column tiles (128 x 256) and several tiles of each.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{40, 64}, {300, 544}};
  for (const auto& [out_f, in_f] : shapes) {
    StoredMatrix s = stored(type, out_f, in_f, 7u + static_cast<uint32_t>(out_f));
    Var wref = Var::constant(Tensor::from_data({out_f, in_f}, s.dequant));
    for (int64_t rows : {1, 5, 64, 333}) {
      for (bool with_bias : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dtype_info(type).name << " (" << out_f << ", " << in_f << ") rows "
                                          << rows << " bias " << with_bias);
        Var x = random_leaf({rows, in_f}, 11u + static_cast<uint32_t>(rows));
        Var b = with_bias ? random_leaf({out_f}, 5u) : Var();
        Var y = linear_frozen(x, s.w, b);
        backward(probe(y, 3u));
        const Tensor y1 = y.value().clone(), dx1 = x.grad().clone();
        const Tensor db1 = with_bias ? b.grad().clone() : Tensor();
        zero_grad(std::span<Var>(&x, 1));
        if (with_bias) zero_grad(std::span<Var>(&b, 1));
        Var yr = linear(x, wref, b);
        backward(probe(yr, 3u));
        // Q8_0 / Q4_0 forward quantizes x to int8 blocks (one step = max|x_block| / 127): y is then
        // within about 1% of the f32 product; dx is f32 on the dequantized weights either way.
        const bool int8_fwd = type == DType::Q8_0 || type == DType::Q4_0;
        const float tol = int8_fwd ? 1e-2f : 1e-5f * static_cast<float>(in_f);
        EXPECT_LE(max_abs_diff(y1, yr.value()), tol * std::max(1.f, max_abs(yr.value())));
        EXPECT_LE(max_abs_diff(dx1, x.grad()), 1e-5f * static_cast<float>(out_f) * std::max(1.f, max_abs(x.grad())));
        if (with_bias) {
          EXPECT_LE(max_abs_diff(db1, b.grad()), 1e-4f);
        }
        reset_step();
      }
    }
  }
}

TEST(LinearFrozenPacked, PackedOnlyMatchesRows) {
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    SCOPED_TRACE(dtype_info(type).name);
    StoredMatrix s = stored(type, 300, 544, 77u);  // 300 rows: a partial 16-row group
    WeightMatrix packed = s.w;
    std::shared_ptr<const void> owner = backend().pack_weights(packed);
    ASSERT_TRUE(owner);
    packed.data = nullptr;
    Var x = random_leaf({37, 544}, 2u);
    Var y = linear_frozen(x, s.w);
    backward(probe(y, 4u));
    const Tensor y1 = y.value().clone(), dx1 = x.grad().clone();
    zero_grad(std::span<Var>(&x, 1));
    Var yp = linear_frozen(x, packed);
    backward(probe(yp, 4u));
    EXPECT_LE(max_abs_diff(y1, yp.value()), 1e-5f * std::max(1.f, max_abs(y1)));
    EXPECT_EQ(max_abs_diff(dx1, x.grad()), 0.f);  // the same dequantized tiles, the same sgemm calls
    Tensor ids = random_ids({2, 11}, 300, 6u);
    EXPECT_EQ(max_abs_diff(embedding_frozen(s.w, ids).value(), embedding_frozen(packed, ids).value()), 0.f);
    reset_step();
  }
}

// F32 / F16 / BF16 only: the Q8_0 / Q4_0 forward rounds x to int8 blocks, a step function that
// finite differences cannot follow; their dx (the f32 adjoint on the dequantized weights) is checked
// against linear's dx above.
TEST_P(LinearFrozen, GradientOfXMatchesFiniteDifferences) {
  if (GetParam() == DType::Q8_0 || GetParam() == DType::Q4_0) GTEST_SKIP() << "int8 forward: see above";
  StoredMatrix s = stored(GetParam(), 24, 96, 21u);
  Var x = random_leaf({2, 3, 96}, 4u);
  Var b = random_leaf({24}, 9u);
  GradCheckResult r = gradcheck(
      [&](const std::vector<Var>& in) { return probe(linear_frozen(in[0], s.w, in[1]), 17u); }, {x, b});
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_GT(r.checked, 0);
}

TEST_P(LinearFrozen, EmbeddingFrozenEqualsEmbeddingOfDequantizedRows) {
  StoredMatrix s = stored(GetParam(), 50, 64, 33u);
  Var table = Var::constant(Tensor::from_data({50, 64}, s.dequant));
  Tensor ids = random_ids({3, 7}, 50, 8u);
  Var e = embedding_frozen(s.w, ids);
  Var er = embedding(table, ids);
  ASSERT_EQ(e.shape(), er.shape());
  EXPECT_EQ(max_abs_diff(e.value(), er.value()), 0.f);
  EXPECT_FALSE(e.requires_grad());
  reset_step();
}

INSTANTIATE_TEST_SUITE_P(Types, LinearFrozen,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0),
                         [](const auto& info) { return std::string(dtype_info(info.param).name); });

TEST(LinearFrozenErrors, BadShapesAndIdsAreClearErrors) {
  StoredMatrix s = stored(DType::Q8_0, 8, 64, 1u);
  Var x = random_leaf({2, 32}, 1u);
  EXPECT_THROW(linear_frozen(x, s.w), Error);
  Var x2 = random_leaf({2, 64}, 1u);
  EXPECT_THROW(linear_frozen(x2, s.w, random_leaf({7}, 1u)), Error);
  EXPECT_THROW(linear_frozen(x2, WeightMatrix{DType::Q8_0, nullptr, 8, 64}), Error);
  EXPECT_THROW(embedding_frozen(s.w, Tensor::from_ids({2}, std::vector<int32_t>{0, 8})), Error);
  reset_step();
}

namespace {

// The fused LoRA layer over a frozen weight equals the frozen product plus the LoRA term (two ops),
// in value and in the gradients of x, A, B and the bias, with and without dropout.
TEST(LoraLinearFrozen, EqualsFrozenProductPlusLoraTerm) {
  for (DType type : {DType::F32, DType::F16, DType::Q8_0}) {
    StoredMatrix s = stored(type, 48, 64, 3);
    for (float p : {0.f, 0.25f}) {
      auto run = [&](bool fused, std::vector<Tensor>& grads) {
        Var x = random_leaf({5, 64}, 7), bias = random_leaf({48}, 8), a = random_leaf({4, 64}, 9),
            b = random_leaf({48, 4}, 10);
        Var y = fused ? lora_linear_frozen(x, s.w, bias, a, b, 1.5f, p, 77)
                      : add(linear_frozen(x, s.w, bias), lora_linear(x, Var(), Var(), a, b, 1.5f, p, 77));
        Tensor value = y.value().clone();
        backward(probe(y, 3));
        grads = {x.grad().clone(), a.grad().clone(), b.grad().clone(), bias.grad().clone()};
        reset_step();
        return value;
      };
      std::vector<Tensor> g1, g2;
      Tensor fused = run(true, g1), split = run(false, g2);
      EXPECT_LE(max_abs_diff(fused, split), 1e-5f * (1 + max_abs(split))) << dtype_info(type).name << " p " << p;
      for (size_t i = 0; i < g1.size(); ++i)
        EXPECT_LE(max_abs_diff(g1[i], g2[i]), 1e-5f * (1 + max_abs(g2[i]))) << dtype_info(type).name << " grad " << i;
    }
  }
}

}  // namespace

}  // namespace op_linear_frozen_test
