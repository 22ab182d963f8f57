// lm_head_loss / lm_head_loss_frozen against cross_entropy(linear(...)) / cross_entropy(linear_frozen(...)):
// the loss, dh and dW for several shapes and chunkings (rows not a multiple of the chunk, V not a
// multiple of the tile or of 16), ignored rows, all rows ignored, accumulation into existing
// gradients, frozen F32 / F16 / BF16 / Q8_0 / Q4_0 (rows and packed-only) weights, finite differences, and the errors;
// lm_head_logprobs / lm_head_logprobs_frozen against token_logprobs(linear(...)) likewise, with an
// arbitrary upstream gradient, and the mean loss as its special case.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/backend.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace op_lm_head_loss_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

// Targets in [0, V) with every `ignore_every`-th row (0: none) set to -100.
Tensor targets_for(int64_t n, int64_t V, uint32_t seed, int ignore_every) {
  Tensor t = random_ids({n}, static_cast<int32_t>(V), seed);
  if (ignore_every > 0)
    for (int64_t i = 0; i < n; i += ignore_every) t.data<int32_t>()[i] = -100;
  return t;
}

// A frozen (V, C) weight of `type` over bytes the caller keeps (quantized rows of random values).
WeightMatrix frozen_weight(DType type, int64_t V, int64_t C, uint32_t seed, std::vector<uint8_t>& bytes) {
  Tensor f = random_tensor({V, C}, seed, -0.5f, 0.5f);
  const size_t rb = dtype_bytes(type, static_cast<size_t>(C));
  bytes.assign(rb * static_cast<size_t>(V), 0);
  for (int64_t r = 0; r < V; ++r)
    quant::quantize_row(type, f.data<float>() + r * C, bytes.data() + r * rb, static_cast<size_t>(C));
  return WeightMatrix{type, bytes.data(), V, C};
}

void expect_close(const Tensor& got, const Tensor& want, float rtol) {
  EXPECT_LE(max_abs_diff(got, want), rtol * std::max(1e-3f, max_abs(want)));
}

// One backward of f() from zeroed gradients of h and W: the value and both gradients (W's when it requires grad).
struct Result {
  Tensor value, dh, dW;
};
Result run(Var& h, Var& W, const std::function<Var()>& f) {
  zero_grad(std::span<Var>(&h, 1));
  if (W.requires_grad()) zero_grad(std::span<Var>(&W, 1));
  Var y = f();
  backward(y.numel() == 1 ? y : probe(y, 77u));  // per-row outputs: an arbitrary upstream gradient
  Result r{y.value().clone(), h.grad().clone(), W.requires_grad() ? W.grad().clone() : Tensor()};
  reset_step();
  return r;
}

void expect_same(const Result& got, const Result& want, float rtol) {
  expect_close(got.value, want.value, rtol);
  expect_close(got.dh, want.dh, rtol);
  if (want.dW.defined()) expect_close(got.dW, want.dW, rtol);
}

struct Case {
  int64_t rows, V, C;
  LmHeadChunks chunks;
  int ignore_every;
};

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
  expect_same(run(h, W, [&] { return add(lm_head_loss(h, W, tg, -100, {4, 16}), lm_head_loss(h, W, tg, -100, {5, 32})); }),
              run(h, W, [&] { return add(cross_entropy(linear(h, W), tg), cross_entropy(linear(h, W), tg)); }), 1e-5f);
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
  // the mean loss and the per-row log-probs (an arbitrary upstream gradient)
  Var h = random_leaf({70, 32}, 1u);
  Var W = random_leaf({300, 32}, 2u);
  Tensor tg = random_ids({70}, 300, 3u);
  for (bool per_row : {false, true}) {
    const auto f = [&] { return per_row ? lm_head_logprobs(h, W, tg, -100, {16, 64}) : lm_head_loss(h, W, tg, -100, {16, 64}); };
    expect_same(run(h, W, f), run(h, W, f), 0.f);
  }
}

class LmHeadLossFrozen : public ::testing::TestWithParam<DType> {};

TEST_P(LmHeadLossFrozen, MatchesCrossEntropyOfLinearFrozen) {
  const DType type = GetParam();
  for (const auto& [V, C] : std::vector<std::pair<int64_t, int64_t>>{{37, 64}, {301, 96}}) {
    std::vector<uint8_t> bytes;
    const WeightMatrix w = frozen_weight(type, V, C, 7u + static_cast<uint32_t>(V), bytes);
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

// ---- lm_head_logprobs: the per-row log-probs through the same fused head ----

TEST(LmHeadLogprobs, MatchesTokenLogprobsOfLinear) {
  const std::vector<Case> cases = {
      {1, 7, 4, {}, 0}, {37, 101, 24, {8, 16}, 3}, {64, 200, 33, {64, 48}, 5}, {130, 517, 16, {128, 512}, 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "rows " << c.rows << " V " << c.V << " chunks " << c.chunks.rows << "x"
                                      << c.chunks.cols << " ignore " << c.ignore_every);
    Var h = random_leaf({c.rows, c.C}, 3u + static_cast<uint32_t>(c.rows), -2.f, 2.f);
    Var W = random_leaf({c.V, c.C}, 9u + static_cast<uint32_t>(c.V));
    const Tensor tg = targets_for(c.rows, c.V, 5u, c.ignore_every);
    const Result got = run(h, W, [&] { return lm_head_logprobs(h, W, tg, -100, c.chunks); });
    ASSERT_EQ(got.value.shape(), Shape{c.rows});
    expect_same(got, run(h, W, [&] { return token_logprobs(linear(h, W), tg); }), 1e-5f);
    for (int64_t r = 0; r < c.rows; ++r)
      if (tg.data<int32_t>()[r] == -100) {
        EXPECT_EQ(got.value.data<float>()[r], 0.f);
      }
  }
}

TEST(LmHeadLogprobs, MeanLossIsTheSpecialCase) {
  // -mean of the kept rows' log-probs is lm_head_loss, value and gradients.
  Var h = random_leaf({2, 9, 12}, 1u);
  Var W = random_leaf({50, 12}, 2u);
  Tensor tg = random_ids({2, 9}, 50, 3u);
  for (int i : {0, 4, 9}) tg.data<int32_t>()[i] = -100;
  std::vector<float> m(18, 1.f);
  for (int i : {0, 4, 9}) m[static_cast<size_t>(i)] = 0.f;
  const Tensor mask = Tensor::from_data({18}, m);
  expect_same(run(h, W, [&] { return neg(masked_mean(lm_head_logprobs(h, W, tg, -100, {4, 16}), mask)); }),
              run(h, W, [&] { return lm_head_loss(h, W, tg, -100, {4, 16}); }), 1e-5f);
}

TEST(LmHeadLogprobs, GradientsMatchFiniteDifferences) {
  Var h = random_leaf({5, 6}, 11u);
  Var W = random_leaf({13, 6}, 12u);
  Tensor tg = Tensor::from_ids({5}, std::vector<int32_t>{3, -100, 12, 0, 7});
  GradCheckResult r = gradcheck(
      [&](const std::vector<Var>& in) { return probe(lm_head_logprobs(in[0], in[1], tg, -100, {2, 16}), 5u); },
      {h, W});
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_GT(r.checked, 0);
}

TEST(LmHeadLogprobs, AllRowsIgnoredIsZeroWithZeroGradient) {
  Var h = random_leaf({6, 8}, 1u);
  Var W = random_leaf({20, 8}, 2u);
  Tensor tg = Tensor::from_ids({6}, std::vector<int32_t>(6, 5));
  Var lp = lm_head_logprobs(h, W, tg, 5);  // a custom ignore index
  EXPECT_EQ(max_abs(lp.value()), 0.f);
  backward(probe(lp, 3u));
  EXPECT_EQ(max_abs(h.grad()), 0.f);
  EXPECT_EQ(max_abs(W.grad()), 0.f);
  reset_step();
  EXPECT_THROW(lm_head_logprobs(h, W, Tensor::from_ids({6}, std::vector<int32_t>{0, 1, 2, 3, 4, 20})), Error);
  reset_step();
}

class LmHeadLogprobsFrozen : public ::testing::TestWithParam<DType> {};

TEST_P(LmHeadLogprobsFrozen, MatchesTokenLogprobsOfLinearFrozenAndFiniteDifferences) {
  const DType type = GetParam();
  std::vector<uint8_t> bytes;
  const WeightMatrix w = frozen_weight(type, 37, 64, 7u, bytes);
  for (const LmHeadChunks& ch : {LmHeadChunks{}, LmHeadChunks{7, 16}}) {
    SCOPED_TRACE(::testing::Message() << dtype_info(type).name << " chunks " << ch.rows << "x" << ch.cols);
    Var h = random_leaf({3, 11, 64}, 4u);
    const Tensor tg = targets_for(33, 37, 6u, 4);
    Var lp = lm_head_logprobs_frozen(h, w, tg, -100, ch);
    backward(probe(lp, 8u));
    const Tensor v1 = lp.value().clone(), dh1 = h.grad().clone();
    zero_grad(std::span<Var>(&h, 1));
    Var lr = token_logprobs(linear_frozen(h, w), tg);
    backward(probe(lr, 8u));
    expect_close(v1, lr.value(), 1e-5f);
    expect_close(dh1, h.grad(), 1e-5f);
    reset_step();
  }
  // Finite differences in h (Q8_0's int8 activation blocks make the forward piecewise: f32 and f16 only).
  if (type == DType::Q8_0) return;
  Var h = random_leaf({4, 64}, 9u);
  Tensor tg = Tensor::from_ids({4}, std::vector<int32_t>{3, -100, 36, 0});
  GradCheckResult r = gradcheck(
      [&](const std::vector<Var>& in) { return probe(lm_head_logprobs_frozen(in[0], w, tg, -100, {3, 16}), 5u); },
      {h});
  EXPECT_TRUE(r.ok) << r.first_failure;
}

INSTANTIATE_TEST_SUITE_P(Types, LmHeadLogprobsFrozen, ::testing::Values(DType::F32, DType::F16, DType::Q8_0),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_info(i.param).name); });

}  // namespace op_lm_head_loss_test
