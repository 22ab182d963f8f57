// attention: forward against a naive softmax(QK^T/sqrt(D) + causal mask) V reference, gradients
// by finite differences, across several key blocks, with grouped-query heads, on both ISAs; the
// same with packed rows (segments), whose documents must not see each other.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/util/error.h"

namespace op_attention_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

// out[b, t, h, :] in double precision; with seg (B, T), query t sees only keys of its segment.
std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t Hq, int64_t Hkv,
                                    const int32_t* seg = nullptr) {
  const int64_t B = q.size(0), T = q.size(1), D = q.size(2) / Hq, g = Hq / Hkv;
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  std::vector<double> out(static_cast<size_t>(q.numel()));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> s(static_cast<size_t>(t + 1));
        double mx = -1e300;
        std::vector<bool> seen(static_cast<size_t>(t + 1), true);
        for (int64_t u = 0; u <= t; ++u) {
          if (seg && seg[b * T + u] != seg[b * T + t]) {
            seen[u] = false;
            s[u] = -1e300;
            continue;
          }
          double d = 0;
          for (int64_t i = 0; i < D; ++i)
            d += static_cast<double>(Q[((b * T + t) * Hq + h) * D + i]) * K[((b * T + u) * Hkv + h / g) * D + i];
          s[u] = d / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, s[u]);
        }
        double z = 0;
        for (int64_t u = 0; u <= t; ++u) z += (s[u] = seen[u] ? std::exp(s[u] - mx) : 0.0);
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

// Segment ids (B, T) from run lengths per row (each row's lengths sum to T).
Tensor segments_of(const std::vector<std::vector<int>>& lengths, int64_t T) {
  std::vector<int32_t> ids;
  for (const auto& row : lengths) {
    int32_t id = 0;
    for (int n : row) ids.insert(ids.end(), static_cast<size_t>(n), id++);
    EXPECT_EQ(static_cast<int64_t>(ids.size()) % T, 0);
  }
  return Tensor::from_ids({static_cast<int64_t>(lengths.size()), T}, ids);
}

TEST_P(Attention, SegmentsForwardMatchesNaive) {
  // Boundaries inside blocks, exactly on a block edge (64, 128), one-token documents, a document
  // spanning three blocks, and a query block whose rows start in different earlier blocks.
  const int64_t T = 200;
  Tensor seg = segments_of({{50, 14, 1, 70, 1, 64}, {1, 130, 3, 66}, {200}}, T);
  for (int64_t D : {8, 16, 64}) {
    const int64_t B = 3, Hq = 4, Hkv = 2;
    Var q = random_leaf({B, T, Hq * D}, 21, -2, 2), k = random_leaf({B, T, Hkv * D}, 22, -2, 2),
        v = random_leaf({B, T, Hkv * D}, 23);
    Var y = attention(q, k, v, Hq, Hkv, &seg);
    auto ref = naive_attention(q.value(), k.value(), v.value(), Hq, Hkv, seg.data<int32_t>());
    double max_err = 0;
    for (size_t i = 0; i < ref.size(); ++i) max_err = std::max(max_err, std::fabs(ref[i] - y.value().data<float>()[i]));
    EXPECT_LT(max_err, 2e-5) << "D=" << D;
    reset_step();
  }
}

TEST_P(Attention, SegmentsGradientsByFiniteDifferences) {
  const int64_t B = 2, T = 150, Hq = 4, Hkv = 2;
  Tensor seg = segments_of({{40, 30, 1, 79}, {64, 86}}, T);
  for (int64_t D : {8, 16}) {
    Var q = random_leaf({B, T, Hq * D}, 24), k = random_leaf({B, T, Hkv * D}, 25), v = random_leaf({B, T, Hkv * D}, 26);
    GradCheckOptions o;
    o.eps = 1e-2f;
    o.atol = 2e-3f;
    o.max_checks = 48;
    auto r = gradcheck(
        [&](const std::vector<Var>& in) { return probe(attention(in[0], in[1], in[2], Hq, Hkv, &seg), 27); },
        {q, k, v}, o);
    EXPECT_TRUE(r.ok) << "D=" << D << ": " << r.first_failure;
  }
}

TEST_P(Attention, PackedRowEqualsSeparateRows) {
  // Documents of 70 and 60 tokens packed into one row give exactly what each gives alone.
  const int64_t Hq = 2, Hkv = 1, D = 16, T = 130;
  Tensor seg = segments_of({{70, 60}}, T);
  Var q = random_leaf({1, T, Hq * D}, 31), k = random_leaf({1, T, Hkv * D}, 32), v = random_leaf({1, T, Hkv * D}, 33);
  Var packed = attention(q, k, v, Hq, Hkv, &seg);
  ag::backward(probe(packed, 34));
  for (const auto& doc : {std::pair<int64_t, int64_t>{0, 70}, {70, 60}}) {
    const int64_t t0 = doc.first, n = doc.second;  // named copies: lambdas may not capture bindings (clang 14)
    auto part = [&](const Var& x) {
      const int64_t w = x.size(2);
      return Var::leaf(Tensor::from_data({1, n, w}, std::span<const float>(x.value().data<float>() + t0 * w,
                                                                           static_cast<size_t>(n * w))),
                       true);
    };
    Var qs = part(q), ks = part(k), vs = part(v);
    Var alone = attention(qs, ks, vs, Hq, Hkv);
    Tensor r = random_tensor(packed.shape(), 34);  // the probe's weights, this document's rows
    Var w = Var::constant(
        Tensor::from_data({1, n, Hq * D}, std::span<const float>(r.data<float>() + t0 * Hq * D, size_t(n * Hq * D))));
    ag::backward(sum(mul(alone, w)));
    double err = 0;
    for (int64_t i = 0; i < n * Hq * D; ++i)
      err = std::max(err, double(std::fabs(alone.value().data<float>()[i] - packed.value().data<float>()[t0 * Hq * D + i])));
    for (auto [whole, piece] : {std::pair{q, qs}, {k, ks}, {v, vs}}) {
      const int64_t w = whole.size(2);
      for (int64_t i = 0; i < n * w; ++i)
        err = std::max(err, double(std::fabs(piece.grad().data<float>()[i] - whole.grad().data<float>()[t0 * w + i])));
    }
    EXPECT_LT(err, 1e-5) << "document at " << t0;
  }
}

TEST(AttentionShapes, BadSegmentsAreErrors) {
  Var q = random_leaf({2, 4, 8}, 1);
  auto message = [&](const Tensor& seg) {
    try {
      attention(q, q, q, 2, 2, &seg);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(Tensor::from_ids({2, 4}, std::vector<int32_t>{0, 0, 1, 1, 0, 1, 1, 0})).find("non-decreasing"),
            std::string::npos);  // row 1 goes back from document 1 to 0
  EXPECT_NE(message(Tensor::from_ids({1, 4}, std::vector<int32_t>{0, 0, 1, 1})).find("segments"), std::string::npos);
  EXPECT_NE(message(Tensor::from_ids({8}, std::vector<int32_t>(8, 0))).find("segments"), std::string::npos);
  EXPECT_NE(message(Tensor::zeros({2, 4})).find("segments"), std::string::npos);  // F32, not I32
  Tensor ok = Tensor::from_ids({2, 4}, std::vector<int32_t>{0, 0, 1, 1, 5, 5, 5, 9});
  EXPECT_EQ(message(ok), "no error");
  reset_step();
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

}  // namespace op_attention_test
