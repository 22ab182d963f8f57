// lm_head_loss / lm_head_loss_frozen against cross_entropy(linear(...)) / cross_entropy(linear_frozen(...)):
// the loss, dh and dW for several shapes and chunkings (rows not a multiple of the chunk, V not a
// multiple of the tile or of 16), ignored rows, all rows ignored, accumulation into existing
// gradients, frozen F32 / F16 / BF16 / Q8_0 / Q4_0 (rows and packed-only) weights, finite differences, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/backend.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  float m = 0.f;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

float max_abs(const Tensor& a) {
  float m = 0.f;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i]));
  return m;
}

// Targets in [0, V) with every `ignore_every`-th row (0: none) set to -100.
Tensor targets_for(int64_t n, int64_t V, uint32_t seed, int ignore_every) {
  Tensor t = random_ids({n}, static_cast<int32_t>(V), seed);
  if (ignore_every > 0)
    for (int64_t i = 0; i < n; i += ignore_every) t.data<int32_t>()[i] = -100;
  return t;
}

void expect_close(const Tensor& got, const Tensor& want, float rtol) {
  EXPECT_LE(max_abs_diff(got, want), rtol * std::max(1e-3f, max_abs(want)));
}

struct Case {
  int64_t rows, V, C;
  LmHeadChunks chunks;
  int ignore_every;
};

}  // namespace

TEST(LmHeadLoss, MatchesCrossEntropyOfLinear) {
  const std::vector<Case> cases = {
      {1, 7, 4, {}, 0},             // one row, one tile
      {37, 101, 24, {8, 16}, 0},    // rows % chunk != 0, V % tile != 0, V prime
      {37, 101, 24, {8, 16}, 3},    // ignored rows
      {64, 200, 33, {64, 48}, 5},   // one row chunk, several tiles
      {300, 1003, 40, {}, 4},       // automatic chunking
      {130, 517, 16, {128, 512}, 0} // a last chunk of 2 rows, a last tile of 5
  };
  for (const Case& c : cases) {
    for (bool w_grad : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "rows " << c.rows << " V " << c.V << " C " << c.C << " chunks "
                                        << c.chunks.rows << "x" << c.chunks.cols << " ignore " << c.ignore_every
                                        << " w_grad " << w_grad);
      Var h = random_leaf({c.rows, c.C}, 3u + static_cast<uint32_t>(c.rows), -2.f, 2.f);
      Var W = Var::leaf(random_tensor({c.V, c.C}, 9u + static_cast<uint32_t>(c.V)), w_grad);
      const Tensor tg = targets_for(c.rows, c.V, 5u, c.ignore_every);
      Var l = lm_head_loss(h, W, tg, -100, c.chunks);
      backward(l);
      const float v1 = l.item();
      const Tensor dh1 = h.grad().clone();
      const Tensor dW1 = w_grad ? W.grad().clone() : Tensor();
      zero_grad(std::span<Var>(&h, 1));
      if (w_grad) zero_grad(std::span<Var>(&W, 1));
      Var lr = cross_entropy(linear(h, W), tg);
      backward(lr);
      EXPECT_NEAR(v1, lr.item(), 1e-5f * std::fabs(lr.item()));
      expect_close(dh1, h.grad(), 1e-5f);
      if (w_grad) expect_close(dW1, W.grad(), 1e-5f);
      reset_step();
    }
  }
}

TEST(LmHeadLoss, BatchedShapeAndAccumulation) {
  // h (B, T, C); a second loss on the same leaves adds to the gradients.
  Var h = random_leaf({2, 9, 12}, 1u);
  Var W = random_leaf({50, 12}, 2u);
  Tensor tg = random_ids({2, 9}, 50, 3u);
  tg.data<int32_t>()[4] = -100;
  Var l = add(lm_head_loss(h, W, tg, -100, {4, 16}), lm_head_loss(h, W, tg, -100, {5, 32}));
  backward(l);
  const Tensor dh1 = h.grad().clone(), dW1 = W.grad().clone();
  const float v1 = l.item();
  zero_grad(std::span<Var>(&h, 1));
  zero_grad(std::span<Var>(&W, 1));
  Var lr = add(cross_entropy(linear(h, W), tg), cross_entropy(linear(h, W), tg));
  backward(lr);
  EXPECT_NEAR(v1, lr.item(), 1e-5f * std::fabs(lr.item()));
  expect_close(dh1, h.grad(), 1e-5f);
  expect_close(dW1, W.grad(), 1e-5f);
  reset_step();
}

TEST(LmHeadLoss, AllRowsIgnoredIsZeroWithZeroGradient) {
  Var h = random_leaf({6, 8}, 1u);
  Var W = random_leaf({20, 8}, 2u);
  Tensor tg = Tensor::from_ids({6}, std::vector<int32_t>(6, -100));
  Var l = lm_head_loss(h, W, tg);
  EXPECT_EQ(l.item(), 0.f);
  backward(l);
  EXPECT_EQ(max_abs(h.grad()), 0.f);
  EXPECT_EQ(max_abs(W.grad()), 0.f);
  reset_step();
}

TEST(LmHeadLoss, CustomIgnoreIndexAndBadTargets) {
  Var h = random_leaf({4, 8}, 1u);
  Var W = random_leaf({10, 8}, 2u);
  Tensor tg = Tensor::from_ids({4}, std::vector<int32_t>{1, 7, 7, 3});
  EXPECT_NEAR(lm_head_loss(h, W, tg, 7).item(), cross_entropy(linear(h, W), tg, 7).item(), 1e-6f);
  EXPECT_THROW(lm_head_loss(h, W, Tensor::from_ids({4}, std::vector<int32_t>{1, 10, 0, 0})), Error);
  EXPECT_THROW(lm_head_loss(h, W, Tensor::from_ids({4}, std::vector<int32_t>{1, -1, 0, 0})), Error);
  EXPECT_THROW(lm_head_loss(h, W, Tensor::from_ids({3}, std::vector<int32_t>{1, 2, 0})), Error);   // count
  EXPECT_THROW(lm_head_loss(h, random_leaf({10, 9}, 3u), tg), Error);                            // C mismatch
  EXPECT_THROW(lm_head_loss(h, W, tg, -100, {-1, 0}), Error);
  reset_step();
}

TEST(LmHeadLoss, GradientsMatchFiniteDifferences) {
  Var h = random_leaf({5, 6}, 11u);
  Var W = random_leaf({13, 6}, 12u);
  Tensor tg = Tensor::from_ids({5}, std::vector<int32_t>{3, -100, 12, 0, 7});
  GradCheckResult r = gradcheck(
      [&](const std::vector<Var>& in) { return lm_head_loss(in[0], in[1], tg, -100, {2, 16}); }, {h, W});
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_GT(r.checked, 0);
}

TEST(LmHeadLoss, DeterministicForAFixedThreadCount) {
  Var h = random_leaf({70, 32}, 1u);
  Var W = random_leaf({300, 32}, 2u);
  Tensor tg = random_ids({70}, 300, 3u);
  Var l1 = lm_head_loss(h, W, tg, -100, {16, 64});
  backward(l1);
  const float v1 = l1.item();
  const Tensor dh1 = h.grad().clone(), dW1 = W.grad().clone();
  zero_grad(std::span<Var>(&h, 1));
  zero_grad(std::span<Var>(&W, 1));
  Var l2 = lm_head_loss(h, W, tg, -100, {16, 64});
  backward(l2);
  EXPECT_EQ(v1, l2.item());
  EXPECT_EQ(max_abs_diff(dh1, h.grad()), 0.f);
  EXPECT_EQ(max_abs_diff(dW1, W.grad()), 0.f);
  reset_step();
}

class LmHeadLossFrozen : public ::testing::TestWithParam<DType> {};

TEST_P(LmHeadLossFrozen, MatchesCrossEntropyOfLinearFrozen) {
  const DType type = GetParam();
  for (const auto& [V, C] : std::vector<std::pair<int64_t, int64_t>>{{37, 64}, {301, 96}}) {
    Tensor f = random_tensor({V, C}, 7u + static_cast<uint32_t>(V), -0.5f, 0.5f);
    const size_t rb = dtype_bytes(type, static_cast<size_t>(C));
    std::vector<uint8_t> bytes(rb * static_cast<size_t>(V));
    for (int64_t r = 0; r < V; ++r)
      quant::quantize_row(type, f.data<float>() + r * C, bytes.data() + r * rb, static_cast<size_t>(C));
    WeightMatrix w{type, bytes.data(), V, C};
    WeightMatrix packed = w;
    std::shared_ptr<const void> owner = backend().pack_weights(packed);
    if (owner) packed.data = nullptr;  // packed-only, as a frozen Q8_0 base may hold it
    for (const WeightMatrix& wm : {w, packed}) {
      for (const LmHeadChunks& ch : {LmHeadChunks{}, LmHeadChunks{7, 32}, LmHeadChunks{16, 16}}) {
        SCOPED_TRACE(::testing::Message() << dtype_info(type).name << " V " << V << " C " << C << " packed "
                                          << (wm.data == nullptr) << " chunks " << ch.rows << "x" << ch.cols);
        Var h = random_leaf({3, 11, C}, 4u);
        const Tensor tg = targets_for(33, V, 6u, 4);
        Var l = lm_head_loss_frozen(h, wm, tg, -100, ch);
        backward(l);
        const float v1 = l.item();
        const Tensor dh1 = h.grad().clone();
        zero_grad(std::span<Var>(&h, 1));
        Var lr = cross_entropy(linear_frozen(h, wm), tg);
        backward(lr);
        EXPECT_NEAR(v1, lr.item(), 1e-5f * std::fabs(lr.item()));
        expect_close(dh1, h.grad(), 1e-5f);
        reset_step();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, LmHeadLossFrozen, ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_info(i.param).name); });

TEST(LmHeadLossFrozenErrors, ShapeAndTargets) {
  std::vector<float> f(10 * 8, 0.1f);
  WeightMatrix w{DType::F32, f.data(), 10, 8};
  Var h = random_leaf({4, 8}, 1u);
  EXPECT_THROW(lm_head_loss_frozen(h, w, Tensor::from_ids({4}, std::vector<int32_t>{1, 10, 0, 0})), Error);
  EXPECT_THROW(lm_head_loss_frozen(random_leaf({4, 9}, 2u), w, Tensor::from_ids({4}, std::vector<int32_t>{1, 2, 0, 0})),
               Error);
  EXPECT_THROW(lm_head_loss_frozen(h, WeightMatrix{}, Tensor::from_ids({4}, std::vector<int32_t>{1, 2, 0, 0})), Error);
  reset_step();
}
