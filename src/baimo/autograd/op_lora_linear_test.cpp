// lora_linear: finite-difference gradients for every input (with and without dropout), the forward
// value against a hand loop, a frozen base that gets no gradient buffer, and the dropout mask.
#include <gtest/gtest.h>

#include <cmath>

#include "baimo/autograd/dropout_mask.h"
#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/util/error.h"

namespace op_lora_linear_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

GradCheckOptions opts() {
  GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 1e-2f;
  o.atol = 2e-3f;
  o.max_checks = 200;
  return o;
}

#define EXPECT_GRADCHECK(res) EXPECT_TRUE((res).ok) << (res).first_failure << " (checked " << (res).checked << ")"

class LoraLinear : public ::testing::Test {
 protected:
  void TearDown() override { reset_step(); }
  // x (2, 3, 5), W (4, 5), b (4), A (3, 5), B (4, 3): B random so every path carries gradient.
  Var x = random_leaf({2, 3, 5}, 1), w = random_leaf({4, 5}, 2), bias = random_leaf({4}, 3);
  Var a = random_leaf({3, 5}, 4), b = random_leaf({4, 3}, 5);
};

TEST_F(LoraLinear, GradientsOfEveryInputWithoutDropout) {
  auto r = gradcheck(
      [](const std::vector<Var>& in) { return probe(lora_linear(in[0], in[1], in[2], in[3], in[4], 1.7f), 6); },
      {x, w, bias, a, b}, opts());
  EXPECT_GRADCHECK(r);
  EXPECT_EQ(r.checked, 30 + 20 + 4 + 15 + 12);
  // No bias.
  auto r2 = gradcheck(
      [](const std::vector<Var>& in) { return probe(lora_linear(in[0], in[1], Var(), in[2], in[3], 0.5f), 7); },
      {x, w, a, b}, opts());
  EXPECT_GRADCHECK(r2);
}

TEST_F(LoraLinear, GradientsOfEveryInputWithDropout) {
  for (uint64_t seed : {11ull, 12345ull}) {
    auto r = gradcheck(
        [seed](const std::vector<Var>& in) {
          return probe(lora_linear(in[0], in[1], in[2], in[3], in[4], 2.f, 0.4f, seed), 8);
        },
        {x, w, bias, a, b}, opts());
    EXPECT_GRADCHECK(r);
  }
}

TEST_F(LoraLinear, ForwardMatchesHandLoopWithDropoutMask) {
  const float s = 1.3f, p = 0.5f;
  const uint64_t seed = 99;
  Var y = lora_linear(x, w, bias, a, b, s, p, seed);
  Var y0 = lora_linear(x, w, bias, a, b, s);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  const float *X = x.value().data<float>(), *W = w.value().data<float>(), *Bi = bias.value().data<float>();
  const float *A = a.value().data<float>(), *B = b.value().data<float>();
  const uint32_t thr = dropout_threshold(p);
  int dropped = 0;
  for (int m = 0; m < 6; ++m)
    for (int o = 0; o < 4; ++o) {
      double base = Bi[o], lora = 0, lora0 = 0;
      for (int k = 0; k < 5; ++k) base += double(X[m * 5 + k]) * W[o * 5 + k];
      for (int j = 0; j < 3; ++j) {
        double u = 0, u0 = 0;
        for (int k = 0; k < 5; ++k) {
          const bool keep = dropout_keep(seed, uint64_t(m * 5 + k), thr);
          if (o == 0 && j == 0 && !keep) ++dropped;
          u += (keep ? X[m * 5 + k] / (1 - p) : 0.0) * A[j * 5 + k];
          u0 += double(X[m * 5 + k]) * A[j * 5 + k];
        }
        lora += u * B[o * 3 + j];
        lora0 += u0 * B[o * 3 + j];
      }
      EXPECT_NEAR(y.value().data<float>()[m * 4 + o], base + s * lora, 1e-4);
      EXPECT_NEAR(y0.value().data<float>()[m * 4 + o], base + s * lora0, 1e-4);
    }
  EXPECT_GT(dropped, 0);  // the mask did something on these 30 inputs
  EXPECT_LT(dropped, 30);
  // Same seed, same output; another seed, another one.
  Var y2 = lora_linear(x, w, bias, a, b, s, p, seed);
  Var y3 = lora_linear(x, w, bias, a, b, s, p, seed + 1);
  bool differs = false;
  for (int64_t i = 0; i < y.numel(); ++i) {
    EXPECT_EQ(y.value().data<float>()[i], y2.value().data<float>()[i]);
    differs |= y.value().data<float>()[i] != y3.value().data<float>()[i];
  }
  EXPECT_TRUE(differs);
}

TEST_F(LoraLinear, ZeroBEqualsPlainLinear) {
  Var bz = Var::leaf(Tensor::zeros({4, 3}), true);
  Var y = lora_linear(x, w, bias, a, bz, 4.f, 0.3f, 5);
  Var ref = linear(x, w, bias);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_FLOAT_EQ(y.value().data<float>()[i], ref.value().data<float>()[i]);
}

TEST_F(LoraLinear, FrozenBaseGetsNoGradientBuffer) {
  Var wf = Var::leaf(w.value().clone(), false), bf = Var::leaf(bias.value().clone(), false);
  Var xf = Var::constant(x.value().clone());
  backward(probe(lora_linear(xf, wf, bf, a, b, 2.f, 0.2f, 3), 9));
  EXPECT_FALSE(wf.node()->grad.defined());
  EXPECT_FALSE(bf.node()->grad.defined());
  EXPECT_FALSE(xf.node()->grad.defined());
  EXPECT_TRUE(a.has_grad());
  EXPECT_TRUE(b.has_grad());
  // And those adapter gradients equal the ones computed with a trainable base.
  std::vector<float> ga(a.grad().data<float>(), a.grad().data<float>() + a.numel());
  std::vector<Var> ps{a, b, w, bias, x};
  zero_grad(ps);
  reset_step();
  backward(probe(lora_linear(x, w, bias, a, b, 2.f, 0.2f, 3), 9));
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_FLOAT_EQ(a.grad().data<float>()[i], ga[size_t(i)]);
}

TEST_F(LoraLinear, BadShapesAndArgumentsThrow) {
  EXPECT_THROW(lora_linear(x, w, bias, random_leaf({3, 4}, 1), b, 1.f), Error);  // A not (r, in)
  EXPECT_THROW(lora_linear(x, w, bias, a, random_leaf({4, 2}, 1), 1.f), Error);  // B rank differs
  EXPECT_THROW(lora_linear(x, w, bias, a, random_leaf({5, 3}, 1), 1.f), Error);  // B not (out, r)
  EXPECT_THROW(lora_linear(x, w, bias, a, b, 1.f, 1.f, 0), Error);               // dropout 1
  EXPECT_THROW(lora_linear(x, w, bias, a, b, 1.f, -0.1f, 0), Error);
  EXPECT_THROW(lora_linear(x, w, bias, a, b, NAN), Error);
}

TEST(DropoutMask, DeterministicAndKeepsAboutOneMinusP) {
  for (float p : {0.f, 0.1f, 0.5f, 0.9f}) {
    const uint32_t thr = dropout_threshold(p);
    int kept = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const bool k = dropout_keep(7, uint64_t(i), thr);
      EXPECT_EQ(k, dropout_keep(7, uint64_t(i), thr));
      kept += k;
    }
    EXPECT_NEAR(double(kept) / n, 1.0 - p, 0.005) << "p = " << p;
  }
  // Different seeds give different masks.
  int same = 0;
  const uint32_t half = dropout_threshold(0.5f);
  for (int i = 0; i < 1000; ++i) same += dropout_keep(1, uint64_t(i), half) == dropout_keep(2, uint64_t(i), half);
  EXPECT_LT(same, 600);
}

namespace {

// Without a base weight the op is the LoRA term alone (what a frozen quantized base adds to).
TEST_F(LoraLinear, TermAloneIsTheDifferenceAndHasGradients) {
  for (float p : {0.f, 0.3f}) {
    Var full = lora_linear(x, w, bias, a, b, 1.3f, p, 21), base = linear(x, w, bias);
    Var term = lora_linear(x, Var(), Var(), a, b, 1.3f, p, 21);
    for (int64_t i = 0; i < term.numel(); ++i)
      EXPECT_NEAR(term.value().data<float>()[i], full.value().data<float>()[i] - base.value().data<float>()[i], 1e-5);
    auto r = gradcheck(
        [p](const std::vector<Var>& in) { return probe(lora_linear(in[0], Var(), Var(), in[1], in[2], 1.3f, p, 21), 9); },
        {x, a, b}, opts());
    EXPECT_GRADCHECK(r);
  }
  EXPECT_THROW(lora_linear(x, Var(), bias, a, b, 1.f), Error);
}

}  // namespace

}  // namespace op_lora_linear_test
