// topk_distill_head_loss against a plain double-precision evaluation of its formula (the KL over the
// teacher's top-k and one bucket for the rest, at temperature T, against the student's full softmax),
// for k in {1, 5, V}, T in {1, 2}, with and without the cross-entropy term; finite differences of dh and
// dW; with k = V it equals distill_head_loss's forward KL (value and gradients); chunking invariance;
// nothing counted; errors. (Against PyTorch: tests/reference/test_topk_distill_vs_torch.py.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/autograd/topk_distill_loss.h"
#include "baimo/util/error.h"

namespace op_topk_distill_loss_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

constexpr int64_t N = 6, C = 8, V = 37;
const std::vector<int32_t> kTargets{3, -100, 12, 0, 36, 7};

// The teacher's top-k of each counted row of zt (N, V) at temperature T: ids by descending logit, their
// log softmax(z / T), and the probability of the other tokens.
struct TopK {
  std::vector<int32_t> ids;
  std::vector<float> lps, tail;
  int64_t k = 0;
  Tensor ids_tensor() const { return Tensor::from_ids({static_cast<int64_t>(ids.size()) / k, k}, ids); }
  Tensor lps_tensor() const { return Tensor::from_data({static_cast<int64_t>(lps.size()) / k, k}, lps); }
  Tensor tail_tensor() const { return Tensor::from_data({static_cast<int64_t>(tail.size())}, tail); }
};

TopK top_k(const std::vector<double>& zt, int64_t k, double T) {
  TopK t;
  t.k = k;
  for (int64_t r = 0; r < N; ++r) {
    if (kTargets[static_cast<size_t>(r)] < 0) continue;
    const double* z = zt.data() + r * V;
    double m = -1e300, acc = 0;
    for (int64_t v = 0; v < V; ++v) m = std::max(m, z[v] / T);
    for (int64_t v = 0; v < V; ++v) acc += std::exp(z[v] / T - m);
    std::vector<int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return z[a] > z[b]; });
    double rest = 0;
    for (int64_t i = 0; i < V; ++i) {
      const double lp = z[order[static_cast<size_t>(i)]] / T - m - std::log(acc);
      if (i >= k) {
        rest += std::exp(lp);
        continue;
      }
      t.ids.push_back(order[static_cast<size_t>(i)]);
      t.lps.push_back(static_cast<float>(lp));
    }
    t.tail.push_back(static_cast<float>(rest));
  }
  return t;
}

std::vector<double> random_logits(uint32_t seed) {
  const Tensor t = random_tensor({N, V}, seed, -3.f, 3.f);
  return std::vector<double>(t.data<float>(), t.data<float>() + N * V);
}

// Naive: the mean over counted rows, from the full student logits h W^T, in double.
double naive(const Tensor& h, const Tensor& w, const TopK& t, const DistillLossOptions& o) {
  const double T = o.temperature;
  double total = 0;
  int64_t j = 0;
  for (int64_t r = 0; r < N; ++r) {
    const int32_t tg = kTargets[static_cast<size_t>(r)];
    if (tg < 0) continue;
    std::vector<double> zs(V);
    for (int64_t v = 0; v < V; ++v)
      for (int64_t c = 0; c < C; ++c) zs[v] += double(h.data<float>()[r * C + c]) * w.data<float>()[v * C + c];
    auto lse = [&](double s) {
      double m = -1e300, acc = 0;
      for (double x : zs) m = std::max(m, x * s);
      for (double x : zs) acc += std::exp(x * s - m);
      return m + std::log(acc);
    };
    const double lu = lse(1 / T), l1 = lse(1);
    double d = 0, q_top = 0;
    for (int64_t i = 0; i < t.k; ++i) {
      const double lp = t.lps[static_cast<size_t>(j * t.k + i)], lq = zs[t.ids[static_cast<size_t>(j * t.k + i)]] / T - lu;
      d += std::exp(lp) * (lp - lq);
      q_top += std::exp(lq);
    }
    const double p_rest = t.tail[static_cast<size_t>(j)];
    if (p_rest > 0) d += p_rest * (std::log(p_rest) - std::log(1 - q_top));
    total += T * T * d + o.ce_weight * (l1 - zs[tg]);
    ++j;
  }
  return total / j;
}

TEST(TopkDistillHeadLoss, MatchesTheFormulaAndFiniteDifferences) {
  Var h = random_leaf({N, C}, 1u, -1.5f, 1.5f), W = random_leaf({V, C}, 2u);
  const std::vector<double> zt = random_logits(3u);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  for (int64_t k : {int64_t{1}, int64_t{5}, V})
    for (float T : {1.f, 2.f})
      for (float ce : {0.f, 0.4f}) {
        SCOPED_TRACE(::testing::Message() << "k " << k << " T " << T << " ce_weight " << ce);
        const TopK t = top_k(zt, k, T);
        const DistillLossOptions o{Divergence::ForwardKl, T, 0.5f, ce, 0};
        DistillLossStats st;
        const float got = topk_distill_head_loss(h, W, t.ids_tensor(), t.lps_tensor(), t.tail_tensor(), tg, -100, o, &st).item();
        reset_step();
        const double want = naive(h.value(), W.value(), t, o);
        EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want)));
        EXPECT_EQ(st.count, 5);
        EXPECT_GE(st.divergence, -1e-6f);
        EXPECT_NEAR(st.divergence + ce * st.cross_entropy, got, 1e-5);
        DistillLossOptions chunked = o;
        chunked.chunk_rows = 2;
        GradCheckResult r = gradcheck(
            [&](const std::vector<Var>& in) {
              return topk_distill_head_loss(in[0], in[1], t.ids_tensor(), t.lps_tensor(), t.tail_tensor(), tg, -100, chunked);
            },
            {h, W});
        EXPECT_TRUE(r.ok) << r.first_failure;
        EXPECT_GT(r.checked, 0);
      }
}

TEST(TopkDistillHeadLoss, WithKEqualToVItIsTheFullForwardKl) {
  Tensor th = random_tensor({N, C}, 4u, -2.f, 2.f), tw = random_tensor({V, C}, 5u);
  std::vector<double> zt(N * V);
  for (int64_t r = 0; r < N; ++r)  // the teacher's logits as the f32 op computes them, then in double
    for (int64_t v = 0; v < V; ++v) {
      float a = 0.f;
      for (int64_t c = 0; c < C; ++c) a += th.data<float>()[r * C + c] * tw.data<float>()[v * C + c];
      zt[r * V + v] = a;
    }
  Tensor tg = Tensor::from_ids({N}, kTargets);
  for (float T : {1.f, 2.5f}) {
    SCOPED_TRACE(::testing::Message() << "T " << T);
    const TopK t = top_k(zt, V, T);
    const DistillLossOptions o{Divergence::ForwardKl, T, 0.5f, 0.3f, 0};
    std::vector<std::vector<float>> results;
    for (bool sparse : {false, true}) {
      Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
      DistillLossStats st;
      Var y = sparse ? topk_distill_head_loss(h, W, t.ids_tensor(), t.lps_tensor(), t.tail_tensor(), tg, -100, o, &st)
                     : distill_head_loss(h, W, th, WeightMatrix{DType::F32, tw.data<float>(), V, C}, tg, -100, o, &st);
      backward(y);
      std::vector<float> got{y.item(), st.divergence, st.cross_entropy};
      for (const Var* x : {&h, &W})
        for (int64_t i = 0; i < x->numel(); ++i) got.push_back(x->grad().data<float>()[i]);
      reset_step();
      results.push_back(got);
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i)
      EXPECT_NEAR(results[1][i], results[0][i], 2e-5f * std::max(1.f, std::fabs(results[0][i]))) << "value " << i;
  }
}

TEST(TopkDistillHeadLoss, ChunkingDoesNotChangeTheResultAndNothingCountedGivesZero) {
  const TopK t = top_k(random_logits(6u), 4, 1.5);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  std::vector<float> ref;
  for (int64_t chunk : {0, 1, 3, 100}) {
    Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
    Var y = topk_distill_head_loss(h, W, t.ids_tensor(), t.lps_tensor(), t.tail_tensor(), tg, -100,
                                   {Divergence::ForwardKl, 1.5f, 0.5f, 0.2f, chunk});
    backward(y);
    std::vector<float> got{y.item()};
    for (const Var* v : {&h, &W})
      for (int64_t i = 0; i < v->numel(); ++i) got.push_back(v->grad().data<float>()[i]);
    reset_step();
    if (ref.empty()) ref = got;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-6f) << "chunk " << chunk << " value " << i;
  }
  Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
  Tensor none = Tensor::from_ids({N}, std::vector<int32_t>(N, -100));
  Var y = topk_distill_head_loss(h, W, Tensor::from_ids({0, 4}, std::vector<int32_t>{}),
                                 Tensor::from_data({0, 4}, std::vector<float>{}), Tensor::from_data({0}, std::vector<float>{}),
                                 none, -100, {});
  EXPECT_EQ(y.item(), 0.f);
  backward(y);
  for (int64_t i = 0; i < h.numel(); ++i) EXPECT_EQ(h.grad().data<float>()[i], 0.f);
  reset_step();
}

TEST(TopkDistillHeadLoss, Errors) {
  Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  const TopK t = top_k(random_logits(7u), 3, 1);
  auto expect_error = [&](const Tensor& ids, const Tensor& lps, const DistillLossOptions& o, const char* needle,
                          const Tensor* tail = nullptr) {
    try {
      topk_distill_head_loss(h, W, ids, lps, tail ? *tail : t.tail_tensor(), tg, -100, o);
      ADD_FAILURE() << "no error, expected one naming " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    reset_step();
  };
  expect_error(t.ids_tensor(), t.lps_tensor(), {Divergence::ReverseKl, 1.f, 0.5f, 0.f, 0}, "only the forward KL");
  expect_error(t.ids_tensor(), t.lps_tensor(), {Divergence::Jsd, 1.f, 0.5f, 0.f, 0}, "only the forward KL");
  expect_error(t.ids_tensor(), t.lps_tensor(), {Divergence::ForwardKl, 0.f, 0.5f, 0.f, 0}, "temperature");
  std::vector<int32_t> ids = t.ids;
  ids[4] = V;
  expect_error(Tensor::from_ids({5, 3}, ids), t.lps_tensor(), {}, "outside [0, 37)");
  ids = t.ids;
  ids[4] = ids[3];
  expect_error(Tensor::from_ids({5, 3}, ids), t.lps_tensor(), {}, "lists a token twice");
  std::vector<float> lps = t.lps;
  lps[2] = NAN;
  expect_error(t.ids_tensor(), Tensor::from_data({5, 3}, lps), {}, "not finite");
  std::vector<float> tail = t.tail;
  tail[1] += 0.1f;
  const Tensor more = Tensor::from_data({5}, tail);
  expect_error(t.ids_tensor(), t.lps_tensor(), {}, "row 1: the top-k probabilities and the tail sum to", &more);
  tail[1] = -0.01f;
  const Tensor negative = Tensor::from_data({5}, tail);
  expect_error(t.ids_tensor(), t.lps_tensor(), {}, "tail[1] = -0.01 is not a probability", &negative);
  expect_error(Tensor::from_ids({4, 3}, std::vector<int32_t>(t.ids.begin(), t.ids.begin() + 12)),
               Tensor::from_data({4, 3}, std::vector<float>(t.lps.begin(), t.lps.begin() + 12)), {}, "one row per counted");
  const Tensor short_tail = Tensor::from_data({4}, std::vector<float>(t.tail.begin(), t.tail.begin() + 4));
  expect_error(t.ids_tensor(), t.lps_tensor(), {}, "one entry per counted target", &short_tail);
}

}  // namespace op_topk_distill_loss_test
