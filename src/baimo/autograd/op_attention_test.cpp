// attention: forward against a naive softmax(QK^T/sqrt(D) + causal mask) V reference, gradients
// by finite differences, across several key blocks, with grouped-query heads, on both ISAs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

namespace {

// out[b, t, h, :] in double precision.
std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t Hq, int64_t Hkv) {
  const int64_t B = q.size(0), T = q.size(1), D = q.size(2) / Hq, g = Hq / Hkv;
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  std::vector<double> out(static_cast<size_t>(q.numel()));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> s(static_cast<size_t>(t + 1));
        double mx = -1e300;
        for (int64_t u = 0; u <= t; ++u) {
          double d = 0;
          for (int64_t i = 0; i < D; ++i)
            d += static_cast<double>(Q[((b * T + t) * Hq + h) * D + i]) * K[((b * T + u) * Hkv + h / g) * D + i];
          s[u] = d / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, s[u]);
        }
        double z = 0;
        for (auto& x : s) z += (x = std::exp(x - mx));
        for (int64_t i = 0; i < D; ++i) {
          double o = 0;
          for (int64_t u = 0; u <= t; ++u) o += s[u] / z * V[((b * T + u) * Hkv + h / g) * D + i];
          out[((b * T + t) * Hq + h) * D + i] = o;
        }
      }
  return out;
}

class Attention : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { cpu::force_avx2_for_testing(GetParam()); }
  void TearDown() override {
    cpu::force_avx2_for_testing(false);
    reset_step();
  }
};

TEST_P(Attention, ForwardMatchesNaiveAcrossBlocks) {
  for (int64_t D : {8, 16, 24, 32, 64, 128})
  for (int64_t T : {1, 5, 64, 65, 130}) {
    const int64_t B = 2, Hq = 4, Hkv = 2;
    Var q = random_leaf({B, T, Hq * D}, 1, -2, 2), k = random_leaf({B, T, Hkv * D}, 2, -2, 2),
        v = random_leaf({B, T, Hkv * D}, 3);
    Var y = attention(q, k, v, Hq, Hkv);
    auto ref = naive_attention(q.value(), k.value(), v.value(), Hq, Hkv);
    double max_err = 0;
    for (size_t i = 0; i < ref.size(); ++i) max_err = std::max(max_err, std::fabs(ref[i] - y.value().data<float>()[i]));
    EXPECT_LT(max_err, 2e-5) << "T=" << T << " D=" << D;
    reset_step();
  }
}

TEST_P(Attention, GradientsByFiniteDifferences) {
  // Two query/key blocks, GQA group of 2; head sizes on the vector and on the plain-loop paths.
  for (int64_t D : {8, 16}) {
  const int64_t B = 1, T = 70, Hq = 4, Hkv = 2;
  Var q = random_leaf({B, T, Hq * D}, 4), k = random_leaf({B, T, Hkv * D}, 5), v = random_leaf({B, T, Hkv * D}, 6);
  GradCheckOptions o;
  o.eps = 1e-2f;
  o.atol = 2e-3f;
  o.max_checks = 48;
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(attention(in[0], in[1], in[2], Hq, Hkv), 7); },
                     {q, k, v}, o);
  EXPECT_TRUE(r.ok) << "D=" << D << ": " << r.first_failure;
  }
}

TEST_P(Attention, OnlySomeInputsNeedGradients) {
  const int64_t B = 1, T = 9, Hq = 2, Hkv = 1, D = 4;
  Var q = random_leaf({B, T, Hq * D}, 8);
  Var k = Var::constant(random_tensor({B, T, Hkv * D}, 9)), v = Var::constant(random_tensor({B, T, Hkv * D}, 10));
  GradCheckOptions o;
  o.eps = 1e-2f;
  auto r = gradcheck([&](const std::vector<Var>& in) { return probe(attention(in[0], k, v, Hq, Hkv), 11); }, {q}, o);
  EXPECT_TRUE(r.ok) << r.first_failure;
}

TEST(AttentionShapes, BadShapesAreErrors) {
  Var q = random_leaf({1, 4, 8}, 1), k = random_leaf({1, 4, 4}, 2);
  EXPECT_THROW(attention(q, k, k, 2, 2), Error);  // k must be (1, 4, 8) for 2 kv heads of size 4
  EXPECT_THROW(attention(q, k, k, 3, 1), Error);
  EXPECT_NO_THROW(attention(q, k, k, 2, 1));
  reset_step();
}

INSTANTIATE_TEST_SUITE_P(Isa, Attention, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "avx2" : "best"; });

}  // namespace
