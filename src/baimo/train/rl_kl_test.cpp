// rl_kl: the three estimators' values (differentiable and detached) against their formulas,
// gradients against finite differences, the adaptive controller's update, names and errors.
#include "baimo/train/rl_kl.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace rl_kl_test {
using namespace baimo;
using namespace baimo::train;

const std::vector<float> kLogp{-1.2f, -0.3f, -2.5f, -0.9f, -4.f, -0.05f};
const std::vector<float> kRef{-1.0f, -0.8f, -2.5f, -1.6f, -3.1f, -0.2f};

double want(double lp, double ref, KlEstimator k) {
  const double d = lp - ref;
  switch (k) {
    case KlEstimator::K1: return d;
    case KlEstimator::K2: return d * d / 2;
    case KlEstimator::K3: break;
  }
  return std::exp(ref - lp) - (ref - lp) - 1;
}

ag::Var leaf(const std::vector<float>& v) { return ag::Var::leaf(Tensor::from_data({2, 3}, v), true); }

class RlKl : public ::testing::Test {
 protected:
  void TearDown() override { ag::reset_step(); }
};

TEST_F(RlKl, EstimatorsMatchTheFormulas) {
  const std::vector<float> mask{1, 1, 0, 1, 1, 0};
  for (KlEstimator k : {KlEstimator::K1, KlEstimator::K2, KlEstimator::K3}) {
    SCOPED_TRACE(kl_estimator_name(k));
    const ag::Var kl = kl_estimate(leaf(kLogp), kRef, k);
    ASSERT_EQ(kl.numel(), 6);
    EXPECT_EQ(kl.shape().d[0], 2);  // the shape of logp
    const std::vector<float> v = kl_values(kLogp, kRef, k), vm = kl_values(kLogp, kRef, k, mask);
    for (size_t i = 0; i < 6; ++i) {
      const double w = want(kLogp[i], kRef[i], k);
      EXPECT_NEAR(kl.value().data<float>()[i], w, 1e-6) << i;
      EXPECT_NEAR(v[i], w, 1e-6) << i;
      EXPECT_EQ(vm[i], mask[i] == 0.f ? 0.f : v[i]) << i;
    }
    ag::reset_step();
  }
  // k3 >= 0 and 0 where the policy equals the reference
  EXPECT_EQ(kl_values(std::vector<float>{-1.f}, std::vector<float>{-1.f}, KlEstimator::K3)[0], 0.f);
}

TEST_F(RlKl, GradientsMatchFiniteDifferences) {
  for (KlEstimator k : {KlEstimator::K1, KlEstimator::K2, KlEstimator::K3}) {
    SCOPED_TRACE(kl_estimator_name(k));
    ag::GradCheckResult g = ag::gradcheck(
        [&](const std::vector<ag::Var>& in) { return ag::sum(kl_estimate(in[0], kRef, k)); }, {leaf(kLogp)});
    EXPECT_TRUE(g.ok) << g.first_failure;
    EXPECT_EQ(g.checked, 6);
  }
}

TEST_F(RlKl, AdaptiveController) {
  AdaptiveKlController c(0.2f, 6.f, 10000.f);
  EXPECT_FLOAT_EQ(c.value(), 0.2f);
  c.update(7.5, 256);  // e = 0.25 -> clipped to 0.2
  EXPECT_NEAR(c.value(), 0.2 * (1 + 0.2 * 256 / 10000.0), 1e-7);
  const float v = c.value();
  c.update(5.4, 100);  // e = -0.1
  EXPECT_NEAR(c.value(), v * (1 - 0.1 * 100 / 10000.0), 1e-7);
  const float w = c.value();
  c.update(6.0, 1000);  // on target: unchanged
  EXPECT_FLOAT_EQ(c.value(), w);
  c.update(0.0, 10000);  // far below: e = -0.2 over a whole horizon
  EXPECT_NEAR(c.value(), w * 0.8, 1e-7);
  EXPECT_THROW(AdaptiveKlController(0.2f, 0.f, 100.f), Error);
  EXPECT_THROW(AdaptiveKlController(0.2f, 6.f, 0.f), Error);
  EXPECT_THROW(AdaptiveKlController(-1.f, 6.f, 100.f), Error);
  EXPECT_THROW(c.update(NAN, 1), Error);
}

TEST_F(RlKl, NamesAndErrors) {
  for (const char* n : {"k1", "k2", "k3"}) EXPECT_STREQ(kl_estimator_name(parse_kl_estimator(n)), n);
  try {
    parse_kl_estimator("kl");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k1, k2, k3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(kl_estimate(leaf(kLogp), std::vector<float>(5), KlEstimator::K3), Error);
  EXPECT_THROW(kl_estimate(ag::Var(), kRef, KlEstimator::K3), Error);
  EXPECT_THROW(kl_values(kLogp, std::vector<float>(5), KlEstimator::K1), Error);
  EXPECT_THROW(kl_values(kLogp, kRef, KlEstimator::K1, std::vector<float>(5)), Error);
}

}  // namespace rl_kl_test
