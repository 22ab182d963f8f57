// distill_head_loss against a plain double-precision evaluation of the same formulas (full logits),
// for each divergence (JSD at beta 0, 0.3, 1), temperatures 1 and 2, with the cross-entropy term;
// finite differences of dh and dW; chunking invariance; ignored rows; a Q8_0 teacher head; errors.
// (The losses against PyTorch / TRL: tests/reference/test_distill_vs_torch.py.)
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace op_distill_loss_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

constexpr int64_t N = 6, C = 8, Ct = 5, V = 37;

// Naive: the mean over counted rows of the loss from full logits, in double.
double naive(const Tensor& h, const Tensor& w, const Tensor& th, const Tensor& tw, const std::vector<int32_t>& tg,
             const DistillLossOptions& o) {
  double total = 0;
  int count = 0;
  const double T = o.temperature, b = o.beta;
  for (int64_t r = 0; r < N; ++r) {
    if (tg[static_cast<size_t>(r)] < 0) continue;
    std::vector<double> zs(V), zt(V);
    for (int64_t v = 0; v < V; ++v) {
      double a = 0, c = 0;
      for (int64_t j = 0; j < C; ++j) a += double(h.data<float>()[r * C + j]) * w.data<float>()[v * C + j];
      for (int64_t j = 0; j < Ct; ++j) c += double(th.data<float>()[r * Ct + j]) * tw.data<float>()[v * Ct + j];
      zs[v] = a;
      zt[v] = c;
    }
    auto logsm = [&](const std::vector<double>& z, double s) {
      double m = -1e300, acc = 0;
      for (double x : z) m = std::max(m, x * s);
      for (double x : z) acc += std::exp(x * s - m);
      std::vector<double> out(V);
      for (int64_t v = 0; v < V; ++v) out[v] = z[v] * s - m - std::log(acc);
      return out;
    };
    const auto ls = logsm(zs, 1 / T), lt = logsm(zt, 1 / T), l1 = logsm(zs, 1);
    auto kl = [&](const std::vector<double>& a, const std::vector<double>& c) {  // KL(exp a || exp c)
      double d = 0;
      for (int64_t v = 0; v < V; ++v) d += std::exp(a[v]) * (a[v] - c[v]);
      return d;
    };
    double d = 0;
    if (o.divergence == Divergence::ForwardKl) d = T * T * kl(lt, ls);
    if (o.divergence == Divergence::ReverseKl) d = T * T * kl(ls, lt);
    if (o.divergence == Divergence::Jsd) {
      if (b == 0) d = kl(lt, ls);
      else if (b == 1) d = kl(ls, lt);
      else {
        std::vector<double> lm(V);
        for (int64_t v = 0; v < V; ++v) lm[v] = std::log(b * std::exp(lt[v]) + (1 - b) * std::exp(ls[v]));
        d = b * kl(lt, lm) + (1 - b) * kl(ls, lm);
      }
    }
    total += d - o.ce_weight * l1[tg[static_cast<size_t>(r)]];
    ++count;
  }
  return count ? total / count : 0;
}

std::vector<DistillLossOptions> cases() {
  std::vector<DistillLossOptions> out;
  for (float T : {1.f, 2.f}) {
    out.push_back({Divergence::ForwardKl, T, 0.5f, 0.f, 0});
    out.push_back({Divergence::ReverseKl, T, 0.5f, 0.3f, 0});
    for (float b : {0.f, 0.3f, 1.f}) out.push_back({Divergence::Jsd, T, b, 0.5f, 0});
  }
  return out;
}

const std::vector<int32_t> kTargets{3, -100, 12, 0, 36, 7};

WeightMatrix f32_matrix(const Tensor& t) { return WeightMatrix{DType::F32, t.data<float>(), t.size(0), t.size(1)}; }

TEST(DistillHeadLoss, MatchesTheFormulasAndFiniteDifferences) {
  Var h = random_leaf({N, C}, 1u, -1.5f, 1.5f), W = random_leaf({V, C}, 2u);
  Tensor th = random_tensor({N, Ct}, 3u, -2.f, 2.f), tw = random_tensor({V, Ct}, 4u);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  for (const DistillLossOptions& o : cases()) {
    SCOPED_TRACE(::testing::Message() << "divergence " << int(o.divergence) << " T " << o.temperature << " beta " << o.beta);
    DistillLossStats st;
    const float got = distill_head_loss(h, W, th, f32_matrix(tw), tg, -100, o, &st).item();
    reset_step();
    const double want = naive(h.value(), W.value(), th, tw, kTargets, o);
    EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want)));
    EXPECT_EQ(st.count, 5);
    EXPECT_NEAR(st.divergence + o.ce_weight * st.cross_entropy, got, 1e-5);
    DistillLossOptions chunked = o;
    chunked.chunk_rows = 2;
    GradCheckResult r = gradcheck(
        [&](const std::vector<Var>& in) { return distill_head_loss(in[0], in[1], th, f32_matrix(tw), tg, -100, chunked); },
        {h, W});
    EXPECT_TRUE(r.ok) << r.first_failure;
    EXPECT_GT(r.checked, 0);
  }
}

TEST(DistillHeadLoss, ChunkingDoesNotChangeTheResult) {
  Tensor th = random_tensor({N, Ct}, 3u, -2.f, 2.f), tw = random_tensor({V, Ct}, 4u);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  std::vector<float> ref;
  for (int64_t chunk : {0, 1, 3, 100}) {
    Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
    DistillLossOptions o{Divergence::Jsd, 1.5f, 0.4f, 0.2f, chunk};
    Var y = distill_head_loss(h, W, th, f32_matrix(tw), tg, -100, o);
    backward(y);
    std::vector<float> got{y.item()};
    for (const Var* v : {&h, &W})
      for (int64_t i = 0; i < v->numel(); ++i) got.push_back(v->grad().data<float>()[i]);
    reset_step();
    if (ref.empty()) ref = got;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-6f) << "chunk " << chunk << " value " << i;
  }
}

TEST(DistillHeadLoss, IdenticalModelsGiveZeroAndAllIgnoredGivesZero) {
  Tensor hv = random_tensor({N, C}, 5u), wv = random_tensor({V, C}, 6u);
  Var h = Var::leaf(hv, true), W = Var::leaf(wv, true);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  for (const DistillLossOptions& o : cases()) {
    DistillLossOptions no_ce = o;
    no_ce.ce_weight = 0;
    EXPECT_NEAR(distill_head_loss(h, W, hv, f32_matrix(wv), tg, -100, no_ce).item(), 0.f, 1e-6f);
    reset_step();
  }
  Tensor none = Tensor::from_ids({N}, std::vector<int32_t>(N, -100));
  Var y = distill_head_loss(h, W, hv, f32_matrix(wv), none, -100, {});
  EXPECT_EQ(y.item(), 0.f);
  backward(y);
  for (int64_t i = 0; i < h.numel(); ++i) EXPECT_EQ(h.grad().data<float>()[i], 0.f);
  reset_step();
}

TEST(DistillHeadLoss, QuantizedTeacherHead) {
  const int64_t Cq = 32;  // a multiple of the Q8_0 block
  Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
  Tensor th = random_tensor({N, Cq}, 7u), tw = random_tensor({V, Cq}, 8u, -0.5f, 0.5f);
  std::vector<uint8_t> bytes(dtype_bytes(DType::Q8_0, Cq) * V);
  for (int64_t r = 0; r < V; ++r)
    quant::quantize_row(DType::Q8_0, tw.data<float>() + r * Cq, bytes.data() + r * dtype_bytes(DType::Q8_0, Cq), Cq);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  const float f32 = distill_head_loss(h, W, th, f32_matrix(tw), tg, -100, {}).item();
  const float q8 = distill_head_loss(h, W, th, WeightMatrix{DType::Q8_0, bytes.data(), V, Cq}, tg, -100, {}).item();
  reset_step();
  EXPECT_NEAR(q8, f32, 2e-2f * std::max(1.f, f32));
}

TEST(DistillHeadLoss, Errors) {
  Var h = random_leaf({N, C}, 1u), W = random_leaf({V, C}, 2u);
  Tensor th = random_tensor({N, Ct}, 3u), tw = random_tensor({V + 1, Ct}, 4u), tw_ok = random_tensor({V, Ct}, 4u);
  Tensor tg = Tensor::from_ids({N}, kTargets);
  EXPECT_THROW(distill_head_loss(h, W, th, f32_matrix(tw), tg, -100, {}), Error);  // vocabularies differ
  DistillLossOptions bad{Divergence::Jsd, 1.f, 1.5f, 0.f, 0};
  EXPECT_THROW(distill_head_loss(h, W, th, f32_matrix(tw_ok), tg, -100, bad), Error);
  bad = {Divergence::ForwardKl, 0.f, 0.5f, 0.f, 0};
  EXPECT_THROW(distill_head_loss(h, W, th, f32_matrix(tw_ok), tg, -100, bad), Error);
  Tensor far = Tensor::from_ids({N}, std::vector<int32_t>{0, 1, 2, 3, 4, int32_t(V)});
  EXPECT_THROW(distill_head_loss(h, W, th, f32_matrix(tw_ok), far, -100, {}), Error);
  reset_step();
}

}  // namespace op_distill_loss_test
