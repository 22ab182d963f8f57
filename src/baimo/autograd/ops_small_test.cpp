// Gradient checks and values for the small ops objectives compose.
#include <gtest/gtest.h>

#include <cmath>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/util/error.h"

namespace ops_small_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

GradCheckOptions opts() {
  GradCheckOptions o;
  o.eps = 1e-3f;
  o.rtol = 1e-2f;
  o.atol = 1e-3f;
  return o;
}

class SmallOps : public ::testing::Test {
 protected:
  void TearDown() override { reset_step(); }
};

#define CHECK_UNARY(expr, lo, hi)                                                                  \
  do {                                                                                             \
    Var x = random_leaf({3, 5}, 31, lo, hi);                                                       \
    auto r = gradcheck([](const std::vector<Var>& in) { const Var& x = in[0]; return probe(expr, 32); }, {x}, opts()); \
    EXPECT_TRUE(r.ok) << #expr << ": " << r.first_failure;                                         \
  } while (0)

TEST_F(SmallOps, UnaryGradients) {
  CHECK_UNARY(exp(x), -2.f, 2.f);
  CHECK_UNARY(log_sigmoid(x), -6.f, 6.f);
  CHECK_UNARY(relu(x), -2.f, 2.f);
  CHECK_UNARY(log1m_exp(x), -6.f, -0.05f);
  CHECK_UNARY(neg(x), -1.f, 1.f);
  CHECK_UNARY(scale(x, -2.5f), -1.f, 1.f);
  CHECK_UNARY(add_scalar(x, 3.f), -1.f, 1.f);
  CHECK_UNARY(clamp(x, -0.5f, 0.4f), -1.f, 1.f);  // FD away from the kinks: eps << distance w.h.p.
  CHECK_UNARY(sum(x), -1.f, 1.f);
  CHECK_UNARY(mean(x), -1.f, 1.f);
  CHECK_UNARY(reshape(x, Shape{15}), -1.f, 1.f);
}

TEST_F(SmallOps, BinaryGradients) {
  Var a = random_leaf({4, 3}, 33), b = random_leaf({4, 3}, 34);
  for (auto f : {+[](const Var& a, const Var& b) { return sub(a, b); }, +[](const Var& a, const Var& b) { return mul(a, b); },
                 +[](const Var& a, const Var& b) { return minimum(a, b); },
                 +[](const Var& a, const Var& b) { return maximum(a, b); }}) {
    auto r = gradcheck([f](const std::vector<Var>& in) { return probe(f(in[0], in[1]), 35); }, {a, b}, opts());
    EXPECT_TRUE(r.ok) << r.first_failure;
  }
}

TEST_F(SmallOps, Values) {
  Var x = Var::leaf(Tensor::from_data({4}, std::vector<float>{-100.f, -1.f, 0.f, 30.f}), true);
  const float* ls = log_sigmoid(x).value().data<float>();
  EXPECT_NEAR(ls[0], -100.f, 1e-4);  // stable for large negative inputs
  EXPECT_NEAR(ls[1], -std::log1p(std::exp(1.0)), 1e-6);
  EXPECT_NEAR(ls[2], -std::log(2.0), 1e-6);
  EXPECT_NEAR(ls[3], 0.f, 1e-6);
  const float* c = clamp(x, -1.5f, 0.5f).value().data<float>();
  EXPECT_EQ(c[0], -1.5f);
  EXPECT_EQ(c[3], 0.5f);
  EXPECT_EQ(c[1], -1.f);
  Var y = Var::leaf(Tensor::from_data({4}, std::vector<float>{-50.f, 2.f, 0.f, 31.f}), true);
  const float* mn = minimum(x, y).value().data<float>();
  EXPECT_EQ(mn[0], -100.f);
  EXPECT_EQ(mn[1], -1.f);
  EXPECT_EQ(mean(y).item(), (-50.f + 2.f + 31.f) / 4);
  EXPECT_THROW(clamp(x, 1.f, 0.f), Error);
  EXPECT_THROW(add(x, Var::leaf(Tensor::zeros({5}), true)), Error);
}

TEST_F(SmallOps, MaskedMeanAndSum) {
  Var x = random_leaf({2, 4}, 36);
  Tensor mask = Tensor::from_data({2, 4}, std::vector<float>{1, 0, 1, 1, 0, 0, 1, 0});
  auto r = gradcheck([&](const std::vector<Var>& in) { return masked_mean(mul(in[0], in[0]), mask); }, {x}, opts());
  EXPECT_TRUE(r.ok) << r.first_failure;
  const float* v = x.value().data<float>();
  EXPECT_NEAR(masked_mean(x, mask).item(), (v[0] + v[2] + v[3] + v[6]) / 4, 1e-6);
  EXPECT_NEAR(masked_sum(x, mask).item(), v[0] + v[2] + v[3] + v[6], 1e-6);
  Tensor zero_mask = Tensor::zeros({2, 4});
  EXPECT_EQ(masked_mean(x, zero_mask).item(), 0.f);
  EXPECT_THROW(masked_mean(x, Tensor::zeros({3})), Error);
}

TEST_F(SmallOps, NoGradRecordsNothing) {
  Var x = random_leaf({3}, 37);
  {
    NoGradGuard ng;
    Var y = exp(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(tape().size(), 0u);
  }
  Var y = exp(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(tape().size(), 1u);
  EXPECT_THROW(backward(y), Error);  // not a single value
}

TEST_F(SmallOps, SegmentSum) {
  // x (2, 5) in groups of a packed pair of rows; -1 left out; group 3 empty.
  Var x = random_leaf({2, 5}, 41);
  const Tensor g = Tensor::from_ids({2, 5}, std::vector<int32_t>{-1, 0, 0, 1, -1, 2, 2, 2, -1, 0});
  Var y = segment_sum(x, g, 4);
  ASSERT_EQ(y.shape(), Shape{4});
  const float* xv = x.value().data<float>();
  EXPECT_FLOAT_EQ(y.value().data<float>()[0], xv[1] + xv[2] + xv[9]);
  EXPECT_FLOAT_EQ(y.value().data<float>()[1], xv[3]);
  EXPECT_FLOAT_EQ(y.value().data<float>()[2], xv[5] + xv[6] + xv[7]);
  EXPECT_EQ(y.value().data<float>()[3], 0.f);
  reset_step();
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(segment_sum(in[0], g, 4), 42); }, {x}, opts());
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_THROW(segment_sum(x, Tensor::from_ids({10}, std::vector<int32_t>(10, 4)), 4), Error);
  EXPECT_THROW(segment_sum(x, Tensor::from_ids({9}, std::vector<int32_t>(9, 0)), 4), Error);
  EXPECT_THROW(segment_sum(x, Tensor::from_ids({10}, std::vector<int32_t>(10, -2)), 4), Error);
}

TEST_F(SmallOps, EmbeddingGathersRowsOfAnActivation) {
  // embedding over a non-leaf table: rows of h = 2 x (N, C) picked, their gradient scattered back
  // (a repeated row gets both contributions).
  Var x = random_leaf({2, 3, 4}, 43);
  const Tensor rows = Tensor::from_ids({3}, std::vector<int32_t>{5, 0, 5});
  auto r = gradcheck(
      [&](const std::vector<Var>& in) { return probe(embedding(reshape(scale(in[0], 2.f), {6, 4}), rows), 44); },
      {x}, opts());
  EXPECT_TRUE(r.ok) << r.first_failure;
  Var y = embedding(reshape(x, {6, 4}), rows);
  EXPECT_EQ(y.value().data<float>()[4], x.value().data<float>()[0]);
}

TEST_F(SmallOps, ReluAndLog1mExpValues) {
  Var x = Var::leaf(Tensor::from_data({4}, std::vector<float>{-30.f, -1e-6f, -0.5f, -2.f}), true);
  const float* l = log1m_exp(x).value().data<float>();
  EXPECT_NEAR(l[0], -std::exp(-30.0), 1e-18);           // log1p(-e^x) where e^x is tiny
  EXPECT_NEAR(l[1], std::log(1e-6), 1e-6 * 14);          // log(-expm1(x)) near 0
  EXPECT_NEAR(l[2], std::log(1 - std::exp(-0.5)), 1e-6);
  EXPECT_NEAR(l[3], std::log(1 - std::exp(-2.0)), 1e-6);
  const float* r = relu(Var::leaf(Tensor::from_data({3}, std::vector<float>{-1.f, 0.f, 2.5f}), true)).value().data<float>();
  EXPECT_EQ(r[0], 0.f);
  EXPECT_EQ(r[1], 0.f);
  EXPECT_EQ(r[2], 2.5f);
}

}  // namespace ops_small_test
