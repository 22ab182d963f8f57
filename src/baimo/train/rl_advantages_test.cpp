// rl_advantages: the token rewards, GAE (against the closed form A_t = sum_l (gamma lambda)^l delta_{t+l}
// over each response's tokens), whitening, GRPO's group advantages, and the errors.
#include "baimo/train/rl_advantages.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/util/error.h"

namespace rl_advantages_test {
using namespace baimo;
using namespace baimo::train;

// 3 responses x 5 slots; lengths 5, 3, 2 (trailing padding).
const std::vector<float> kMask{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0};

TEST(RlAdvantages, TokenRewardsPutTheScoreOnTheLastTokenAndTheKlPenaltyOnEvery) {
  const std::vector<float> scores{2.f, -1.f, 0.5f};
  std::vector<float> kl(15);
  for (size_t i = 0; i < kl.size(); ++i) kl[i] = 0.1f * float(i);
  const std::vector<float> r = ppo_token_rewards(scores, kl, kMask, 3, 5, 0.5f);
  const std::vector<float> want{-0.f,  -0.05f, -0.1f, -0.15f, -0.2f + 2.f, -0.25f, -0.3f, -0.35f - 1.f,
                                0.f,   0.f,    -0.5f, -0.55f + 0.5f, 0.f, 0.f,   0.f};
  ASSERT_EQ(r.size(), want.size());
  for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(r[i], want[i], 1e-6) << i;
  // without a KL penalty: the scores alone
  const std::vector<float> s = ppo_token_rewards(scores, {}, kMask, 3, 5, 0.5f);
  for (size_t i = 0; i < s.size(); ++i)
    EXPECT_EQ(s[i], i == 4 ? 2.f : i == 7 ? -1.f : i == 11 ? 0.5f : 0.f) << i;
  // a hole in the mask: the score goes to the last masked token
  const std::vector<float> holes{1, 0, 1, 0};
  const std::vector<float> h = ppo_token_rewards(std::vector<float>{1.f}, {}, holes, 1, 4, 0.f);
  EXPECT_EQ(h, (std::vector<float>{0, 0, 1, 0}));
  EXPECT_THROW(ppo_token_rewards(std::vector<float>{1.f}, {}, std::vector<float>{0, 0}, 1, 2, 0.f), Error);  // no tokens
  EXPECT_THROW(ppo_token_rewards(scores, kl, kMask, 3, 4, 0.5f), Error);                      // sizes
}

TEST(RlAdvantages, GaeMatchesTheClosedForm) {
  std::vector<float> rewards(15), values(15);
  for (size_t i = 0; i < 15; ++i) {
    rewards[i] = std::sin(1.3f * float(i)) * (i % 4 == 0 ? 2.f : 0.3f);
    values[i] = std::cos(0.7f * float(i)) + (kMask[i] == 0.f ? 5.f : 0.f);  // padding values must not matter
  }
  for (const auto& [gamma, lambda] : {std::pair{1.f, 0.95f}, std::pair{0.9f, 0.8f}, std::pair{1.f, 1.f},
                                      std::pair{0.99f, 0.f}}) {
    SCOPED_TRACE(::testing::Message() << "gamma " << gamma << " lambda " << lambda);
    const Gae g = gae(rewards, values, kMask, 3, 5, gamma, lambda);
    for (size_t i = 0; i < 3; ++i) {
      size_t len = 0;
      while (len < 5 && kMask[i * 5 + len] != 0.f) ++len;
      for (size_t t = 0; t < 5; ++t) {
        const size_t k = i * 5 + t;
        if (t >= len) {
          EXPECT_EQ(g.advantages[k], 0.f);
          EXPECT_EQ(g.returns[k], 0.f);
          continue;
        }
        double a = 0, w = 1;
        for (size_t u = t; u < len; ++u, w *= double(gamma) * lambda) {
          const double next = u + 1 < len ? values[i * 5 + u + 1] : 0.0;
          a += w * (rewards[i * 5 + u] + gamma * next - values[i * 5 + u]);
        }
        EXPECT_NEAR(g.advantages[k], a, 1e-5) << k;
        EXPECT_NEAR(g.returns[k], a + values[k], 1e-5) << k;
      }
    }
  }
  // lambda = 1, gamma = 1: the return is the sum of the remaining rewards
  const Gae mc = gae(rewards, values, kMask, 3, 5, 1.f, 1.f);
  EXPECT_NEAR(mc.returns[5], rewards[5] + rewards[6] + rewards[7], 1e-5);
  EXPECT_THROW(gae(rewards, values, kMask, 3, 5, 1.5f, 0.9f), Error);
  EXPECT_THROW(gae(rewards, values, kMask, 3, 5, 1.f, -0.1f), Error);
  EXPECT_THROW(gae(rewards, std::vector<float>(14), kMask, 3, 5, 1.f, 0.9f), Error);
}

TEST(RlAdvantages, WhitenGivesMeanZeroUnbiasedStdOne) {
  std::vector<float> x(15);
  for (size_t i = 0; i < 15; ++i) x[i] = 3.f + 2.f * std::sin(float(i)) + (kMask[i] == 0.f ? 100.f : 0.f);
  double mean_x = 0, n = 10;
  for (size_t i = 0; i < 15; ++i) mean_x += kMask[i] * x[i] / n;
  for (bool shift : {true, false}) {
    const std::vector<float> y = masked_whiten(x, kMask, shift);
    double mean = 0, ss = 0;
    for (size_t i = 0; i < 15; ++i) mean += kMask[i] * y[i] / n;
    for (size_t i = 0; i < 15; ++i) ss += kMask[i] * (y[i] - mean) * (y[i] - mean);
    EXPECT_NEAR(mean, shift ? 0.0 : mean_x, 1e-5);
    EXPECT_NEAR(ss / (n - 1), 1.0, 1e-5);  // unbiased variance 1 (1e-8 of epsilon aside)
    for (size_t i = 0; i < 15; ++i) EXPECT_TRUE(kMask[i] != 0.f || y[i] == 0.f) << i;
  }
  // two values: +-1/sqrt(2) of the unbiased std
  const std::vector<float> two = masked_whiten(std::vector<float>{1.f, 3.f}, std::vector<float>{1.f, 1.f});
  EXPECT_NEAR(two[0], -1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(two[1], 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_THROW(masked_whiten(std::vector<float>{1.f, 3.f}, std::vector<float>{1.f, 0.f}), Error);  // one value
  EXPECT_THROW(masked_whiten(std::vector<float>{1.f, 3.f}, std::vector<float>{1.f}), Error);       // sizes
  EXPECT_THROW(masked_whiten(std::vector<float>{1.f, 3.f}, std::vector<float>{1.f, 0.5f}), Error);  // not 0/1
}

TEST(RlAdvantages, GroupAdvantages) {
  // group 0: {1, 0, 0, 1}: mean 0.5, unbiased std sqrt(1/3); group 1: all 2 (zero spread)
  const std::vector<float> r{1, 0, 0, 1, 2, 2, 2, 2};
  const GroupAdvantages g = group_advantages(r, 4);
  const double s = std::sqrt(1.0 / 3.0) + 1e-4;
  const std::vector<double> want{0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s, 0, 0, 0, 0};
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(g.advantages[i], want[i], 1e-6) << i;
  EXPECT_DOUBLE_EQ(g.frac_zero_std, 0.5);
  const GroupAdvantages d = group_advantages(r, 4, false);  // Dr. GRPO: not scaled
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(d.advantages[i], i < 4 ? r[i] - 0.5 : 0.0, 1e-7);
  const GroupAdvantages pairs = group_advantages(r, 2);  // {1,0} {0,1} {2,2} {2,2}
  EXPECT_DOUBLE_EQ(pairs.frac_zero_std, 0.5);
  EXPECT_NEAR(pairs.advantages[0], 0.5 / (std::sqrt(0.5) + 1e-4), 1e-6);
  EXPECT_THROW(group_advantages(r, 3), Error);  // 8 is not a multiple of 3
  EXPECT_THROW(group_advantages(r, 1), Error);  // no spread within a group of one
  EXPECT_THROW(group_advantages(std::vector<float>{1.f}, 2), Error);
}

TEST(RlAdvantages, MaskErrorsNameTheSlot) {
  try {
    check_token_mask("gae", std::vector<float>{1, 0.5f, 0, 0}, 2, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mask[1] = 0.5 (response 0, token 1)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_token_mask("gae", std::vector<float>{}, 0, 2), Error);
}

}  // namespace rl_advantages_test
