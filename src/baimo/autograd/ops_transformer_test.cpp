// Finite-difference gradient checks for the transformer ops, on both kernel ISAs.
#include <gtest/gtest.h>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/util/error.h"

namespace ops_transformer_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

// Runs the test body on the AVX-512 kernels (when the CPU has them) and on the AVX2 kernels.
class OpsGrad : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { cpu::force_avx2_for_testing(GetParam()); }
  void TearDown() override {
    cpu::force_avx2_for_testing(false);
    reset_step();
  }
};

GradCheckOptions opts() {
  GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 1e-2f;
  o.atol = 2e-3f;
  return o;
}

#define EXPECT_GRADCHECK(res) EXPECT_TRUE((res).ok) << (res).first_failure << " (checked " << (res).checked << ")"

TEST_P(OpsGrad, Embedding) {
  Var w = random_leaf({11, 6}, 1);
  Tensor ids = Tensor::from_ids({2, 3}, std::vector<int32_t>{0, 3, 3, 10, 5, 0});  // repeats accumulate
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(embedding(in[0], ids), 2); }, {w}, opts());
  EXPECT_GRADCHECK(r);
  Var y = embedding(w, ids);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 6}));
  EXPECT_EQ(y.value().data<float>()[1 * 6 + 2], w.value().data<float>()[3 * 6 + 2]);
  EXPECT_THROW(embedding(w, Tensor::from_ids({1}, std::vector<int32_t>{11})), Error);
}

TEST_P(OpsGrad, LinearWithAndWithoutBias) {
  Var x = random_leaf({2, 3, 5}, 3), w = random_leaf({4, 5}, 4), b = random_leaf({4}, 5);
  auto r = gradcheck([](const std::vector<Var>& in) { return probe(linear(in[0], in[1], in[2]), 6); }, {x, w, b},
                     opts());
  EXPECT_GRADCHECK(r);
  auto r2 = gradcheck([](const std::vector<Var>& in) { return probe(linear(in[0], in[1]), 7); }, {x, w}, opts());
  EXPECT_GRADCHECK(r2);
  // Forward value against a hand loop.
  Var y = linear(x, w, b);
  const float* X = x.value().data<float>();
  const float* W = w.value().data<float>();
  float ref = b.value().data<float>()[2];
  for (int k = 0; k < 5; ++k) ref += X[4 * 5 + k] * W[2 * 5 + k];
  EXPECT_NEAR(y.value().data<float>()[4 * 4 + 2], ref, 1e-5f);
  EXPECT_THROW(linear(x, random_leaf({4, 6}, 8)), Error);
}

TEST_P(OpsGrad, RmsNorm) {
  Var x = random_leaf({3, 2, 8}, 9), w = random_leaf({8}, 10, 0.5f, 1.5f);
  auto r = gradcheck([](const std::vector<Var>& in) { return probe(rmsnorm(in[0], in[1], 1e-5f), 11); }, {x, w},
                     opts());
  EXPECT_GRADCHECK(r);
  Var y = rmsnorm(x, w, 1e-5f);
  const float* X = x.value().data<float>();
  double ss = 0;
  for (int j = 0; j < 8; ++j) ss += X[8 + j] * X[8 + j];
  const double rs = 1.0 / std::sqrt(ss / 8 + 1e-5);
  EXPECT_NEAR(y.value().data<float>()[8 + 3], X[8 + 3] * rs * w.value().data<float>()[3], 1e-5);
}

TEST_P(OpsGrad, Rope) {
  const int64_t B = 2, T = 5, H = 3, D = 8;
  Var x = random_leaf({B, T, H * D}, 12);
  Tensor pos = Tensor::from_ids({B, T}, std::vector<int32_t>{0, 1, 2, 3, 4, 7, 8, 9, 10, 300});
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(rope(in[0], pos, H, 10000.f), 13); }, {x},
                     opts());
  EXPECT_GRADCHECK(r);
  // Value: batch 1, t 4 (position 300), head 2, pair i = 1 -> (1, 5).
  Var y = rope(x, pos, H, 10000.f);
  const float* X = x.value().data<float>() + ((1 * T + 4) * H + 2) * D;
  const float* Y = y.value().data<float>() + ((1 * T + 4) * H + 2) * D;
  const double ang = 300.0 / std::pow(10000.0, 2.0 / 8.0);
  EXPECT_NEAR(Y[1], X[1] * std::cos(ang) - X[5] * std::sin(ang), 2e-5);
  EXPECT_NEAR(Y[5], X[5] * std::cos(ang) + X[1] * std::sin(ang), 2e-5);
  // Position 0 is the identity; (T) positions broadcast over the batch.
  Tensor pos1 = Tensor::from_ids({T}, std::vector<int32_t>{0, 1, 2, 3, 4});
  Var y1 = rope(x, pos1, H, 10000.f);
  for (int j = 0; j < H * D; ++j) EXPECT_EQ(y1.value().data<float>()[j], x.value().data<float>()[j]);
  Tensor pos2 = Tensor::from_ids({B, T}, std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4});
  Var y2 = rope(x, pos2, H, 10000.f);
  for (int64_t j = 0; j < x.numel(); ++j) EXPECT_EQ(y1.value().data<float>()[j], y2.value().data<float>()[j]);
}

TEST_P(OpsGrad, SwiGlu) {
  Var g = random_leaf({4, 9}, 14, -3.f, 3.f), u = random_leaf({4, 9}, 15);
  auto r = gradcheck([](const std::vector<Var>& in) { return probe(swiglu(in[0], in[1]), 16); }, {g, u}, opts());
  EXPECT_GRADCHECK(r);
  Var y = swiglu(g, u);
  const float gv = g.value().data<float>()[5], uv = u.value().data<float>()[5];
  EXPECT_NEAR(y.value().data<float>()[5], gv / (1 + std::exp(-gv)) * uv, 1e-6);
}

TEST_P(OpsGrad, Add) {
  Var a = random_leaf({3, 4}, 17), b = random_leaf({3, 4}, 18);
  auto r = gradcheck([](const std::vector<Var>& in) { return probe(add(in[0], in[1]), 19); }, {a, b}, opts());
  EXPECT_GRADCHECK(r);
}

TEST_P(OpsGrad, CrossEntropyWithIgnoreIndex) {
  Var logits = random_leaf({2, 3, 13}, 20, -3.f, 3.f);
  Tensor t = Tensor::from_ids({2, 3}, std::vector<int32_t>{1, -100, 12, 0, 5, -100});
  auto r = gradcheck([&](const std::vector<Var>& in) { return cross_entropy(in[0], t); }, {logits}, opts());
  EXPECT_GRADCHECK(r);
  // Value: mean over the 4 non-ignored rows of -log_softmax at the target.
  const float* L = logits.value().data<float>();
  double total = 0;
  const int32_t* tt = t.data<int32_t>();
  for (int row = 0; row < 6; ++row) {
    if (tt[row] < 0) continue;
    double s = 0;
    for (int j = 0; j < 13; ++j) s += std::exp(static_cast<double>(L[row * 13 + j]));
    total += std::log(s) - L[row * 13 + tt[row]];
  }
  EXPECT_NEAR(cross_entropy(logits, t).item(), total / 4, 1e-5);
  // All ignored: zero loss and zero gradient.
  Tensor none = Tensor::from_ids({2, 3}, std::vector<int32_t>(6, -100));
  zero_grad(std::span<Var>(&logits, 1));
  Var l0 = cross_entropy(logits, none);
  EXPECT_EQ(l0.item(), 0.f);
  backward(l0);
  for (int i = 0; i < 78; ++i) EXPECT_EQ(logits.grad().data<float>()[i], 0.f);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_ids({6}, std::vector<int32_t>{0, 0, 0, 13, 0, 0})), Error);
}

TEST_P(OpsGrad, TokenLogprobs) {
  Var logits = random_leaf({5, 7}, 21, -2.f, 2.f);
  Tensor t = Tensor::from_ids({5}, std::vector<int32_t>{6, 0, -100, 3, 3});
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(token_logprobs(in[0], t), 22); }, {logits},
                     opts());
  EXPECT_GRADCHECK(r);
  Var lp = token_logprobs(logits, t);
  EXPECT_EQ(lp.value().data<float>()[2], 0.f);
  const float* L = logits.value().data<float>();
  double s = 0;
  for (int j = 0; j < 7; ++j) s += std::exp(static_cast<double>(L[3 * 7 + j]));
  EXPECT_NEAR(lp.value().data<float>()[3], L[3 * 7 + 3] - std::log(s), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Isa, OpsGrad, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "avx2" : "best"; });

}  // namespace ops_transformer_test
