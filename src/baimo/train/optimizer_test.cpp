#include "baimo/train/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/util/error.h"

namespace optimizer_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::train;

void set_grad(Var& v, std::vector<float> g) {
  bool acc;
  float* d = v.grad_for_write(acc);
  for (size_t i = 0; i < g.size(); ++i) d[i] = g[i];
}

TEST(AdamW, TwoStepsMatchHandComputedReference) {
  Var w = Var::leaf(Tensor::from_data({2}, std::vector<float>{1.0f, -2.0f}));
  Var b = Var::leaf(Tensor::from_data({1}, std::vector<float>{0.5f}));
  AdamWConfig cfg{.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.1f};
  AdamW opt({{.params = {w}, .weight_decay = true}, {.params = {b}, .weight_decay = false}}, cfg);
  const double lr = 0.01;
  // Reference in double: torch.optim.AdamW's update.
  double pw[2] = {1.0, -2.0}, pb = 0.5, mw[2] = {0, 0}, vw[2] = {0, 0}, mb = 0, vb = 0;
  const double gw[2][2] = {{0.3, -0.4}, {0.1, 0.2}}, gb[2] = {1.0, -0.5};
  for (int t = 1; t <= 2; ++t) {
    set_grad(w, {float(gw[t - 1][0]), float(gw[t - 1][1])});
    set_grad(b, {float(gb[t - 1])});
    opt.step(static_cast<float>(lr));
    const double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.99, t);
    for (int i = 0; i < 2; ++i) {
      pw[i] *= 1 - lr * 0.1;
      mw[i] = 0.9 * mw[i] + 0.1 * gw[t - 1][i];
      vw[i] = 0.99 * vw[i] + 0.01 * gw[t - 1][i] * gw[t - 1][i];
      pw[i] -= lr / bc1 * mw[i] / (std::sqrt(vw[i]) / std::sqrt(bc2) + 1e-8);
    }
    mb = 0.9 * mb + 0.1 * gb[t - 1];
    vb = 0.99 * vb + 0.01 * gb[t - 1] * gb[t - 1];
    pb -= lr / bc1 * mb / (std::sqrt(vb) / std::sqrt(bc2) + 1e-8);  // no decay in this group
    EXPECT_NEAR(w.value().data<float>()[0], pw[0], 1e-6);
    EXPECT_NEAR(w.value().data<float>()[1], pw[1], 1e-6);
    EXPECT_NEAR(b.value().data<float>()[0], pb, 1e-6);
  }
  EXPECT_EQ(opt.steps(), 2);
  EXPECT_NEAR(opt.exp_avg(0).data<float>()[1], mw[1], 1e-7);
  EXPECT_NEAR(opt.exp_avg_sq(1).data<float>()[0], vb, 1e-7);
  // A parameter without gradient: moments decay, decoupled weight decay still applies.
  opt.zero_grad();
  const float before = w.value().data<float>()[0];
  opt.step(static_cast<float>(lr));
  EXPECT_LT(std::fabs(w.value().data<float>()[0]), std::fabs(before));
}

TEST(ClipGradNorm, ScalesToMaxNormAndReturnsNormBefore) {
  Var a = Var::leaf(Tensor::zeros({2})), b = Var::leaf(Tensor::zeros({1})), c = Var::leaf(Tensor::zeros({3}));
  set_grad(a, {3.f, 0.f});
  set_grad(b, {4.f});  // c has no gradient: counts as zero
  std::vector<Var> ps{a, b, c};
  EXPECT_FLOAT_EQ(clip_grad_norm(ps, 1.0f), 5.f);
  EXPECT_NEAR(a.grad().data<float>()[0], 3.f / (5.f + 1e-6f), 1e-7);
  EXPECT_NEAR(b.grad().data<float>()[0], 4.f / (5.f + 1e-6f), 1e-7);
  EXPECT_NEAR(clip_grad_norm(ps, 10.f), 1.f, 1e-6);  // below max: unchanged
  EXPECT_NEAR(a.grad().data<float>()[0], 0.6f, 1e-6);
}

TEST(LrSchedule, WarmupCosineAndConstant) {
  auto s = LrSchedule::warmup_cosine(1e-3f, 10, 110, 1e-4f);
  EXPECT_FLOAT_EQ(s.at(0), 1e-4f);
  EXPECT_FLOAT_EQ(s.at(4), 5e-4f);
  EXPECT_FLOAT_EQ(s.at(9), 1e-3f);
  EXPECT_FLOAT_EQ(s.at(10), 1e-3f);
  EXPECT_NEAR(s.at(60), 1e-4f + 0.9e-3f * 0.5f, 1e-9);  // halfway
  EXPECT_NEAR(s.at(35), 1e-4 + 0.9e-3 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-9);
  EXPECT_FLOAT_EQ(s.at(110), 1e-4f);
  EXPECT_FLOAT_EQ(s.at(1000), 1e-4f);
  EXPECT_FLOAT_EQ(LrSchedule::constant(3e-4f).at(12345), 3e-4f);
  EXPECT_THROW(LrSchedule::warmup_cosine(1e-3f, 20, 10), Error);
}

TEST(LrSchedule, WarmupStableDecay) {
  // 10 warmup, stable until step 80, linear decay over the last 20 steps to 1e-4.
  auto s = LrSchedule::warmup_stable_decay(1e-3f, 10, 100, 20, 1e-4f);
  EXPECT_FLOAT_EQ(s.at(0), 1e-4f);
  EXPECT_FLOAT_EQ(s.at(9), 1e-3f);
  EXPECT_FLOAT_EQ(s.at(10), 1e-3f);
  EXPECT_FLOAT_EQ(s.at(79), 1e-3f);
  EXPECT_FLOAT_EQ(s.at(80), 1e-3f);
  EXPECT_NEAR(s.at(90), 1e-3 - 0.9e-3 * 0.5, 1e-9);
  EXPECT_NEAR(s.at(99), 1e-3 - 0.9e-3 * 0.95, 1e-9);
  EXPECT_FLOAT_EQ(s.at(100), 1e-4f);
  EXPECT_FLOAT_EQ(s.at(500), 1e-4f);
  // No decay phase: peak to the end.
  EXPECT_FLOAT_EQ(LrSchedule::warmup_stable_decay(1e-3f, 0, 50, 0).at(49), 1e-3f);
  EXPECT_THROW(LrSchedule::warmup_stable_decay(1e-3f, 10, 100, 95), Error);
  EXPECT_THROW(LrSchedule::warmup_stable_decay(1e-3f, 10, 100, -1), Error);
}

}  // namespace optimizer_test
