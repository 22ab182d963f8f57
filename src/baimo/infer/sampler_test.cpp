#include "baimo/infer/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "baimo/util/error.h"

using namespace baimo;

namespace {
std::vector<float> logits_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}
std::map<int, int> histogram(SamplingParams sp, const std::vector<float>& logits, int draws) {
  Sampler s(sp);
  std::map<int, int> h;
  for (int i = 0; i < draws; ++i) {
    auto l = logits;
    ++h[s.sample(l, {})];
  }
  return h;
}
}  // namespace

TEST(Sampler, GreedyPicksArgmaxAfterBiasAndPenalties) {
  SamplingParams sp;
  sp.temperature = 0;
  std::vector<float> l{1, 3, 2};
  EXPECT_EQ(Sampler(sp).sample(l, {}), 1);
  sp.logit_bias[2] = 5;
  l = {1, 3, 2};
  EXPECT_EQ(Sampler(sp).sample(l, {}), 2);
  sp.logit_bias.clear();
  sp.frequency_penalty = 1.5;  // token 1 seen twice: 3 - 3 = 0
  l = {1, 3, 2};
  std::vector<int32_t> hist{1, 1};
  EXPECT_EQ(Sampler(sp).sample(l, hist), 2);
  EXPECT_FLOAT_EQ(l[1], 0.0f);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  SamplingParams sp;
  sp.temperature = 0;
  sp.repetition_penalty = 2;
  std::vector<float> l{4, -1, 3};
  std::vector<int32_t> hist{0, 1};
  EXPECT_EQ(Sampler(sp).sample(l, hist), 2);
  EXPECT_FLOAT_EQ(l[0], 2.0f);
  EXPECT_FLOAT_EQ(l[1], -2.0f);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  SamplingParams sp;
  sp.seed = 7;
  auto h = histogram(sp, logits_of({0.5, 0.3, 0.2}), 20000);
  EXPECT_NEAR(h[0] / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(h[1] / 20000.0, 0.3, 0.02);
  EXPECT_NEAR(h[2] / 20000.0, 0.2, 0.02);
}

TEST(Sampler, TopKTopPMinPRestrictTheSupport) {
  auto l = logits_of({0.4, 0.3, 0.2, 0.1});
  SamplingParams sp;
  sp.top_k = 2;
  auto h = histogram(sp, l, 4000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(h[0] / 4000.0, 4.0 / 7, 0.03);
  sp = {};
  sp.top_p = 0.75;  // 0.4 + 0.3 = 0.7 < 0.75, so the third is needed
  h = histogram(sp, l, 4000);
  EXPECT_EQ(h.size(), 3u);
  sp = {};
  sp.min_p = 0.6;  // keep p >= 0.24
  h = histogram(sp, l, 4000);
  EXPECT_EQ(h.size(), 2u);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDiffers) {
  auto l = logits_of({0.25, 0.25, 0.25, 0.25});
  auto run = [&](uint64_t seed) {
    SamplingParams sp;
    sp.seed = seed;
    Sampler s(sp);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      auto x = l;
      out.push_back(s.sample(x, {}));
    }
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(Sampler, InvalidParamsAreErrors) {
  SamplingParams sp;
  sp.top_p = 0;
  EXPECT_THROW(Sampler{sp}, Error);
  sp = {};
  sp.temperature = -1;
  EXPECT_THROW(Sampler{sp}, Error);
}

TEST(LogSoftmax, MatchesDefinition) {
  std::vector<float> l{1, 2, 3}, out(3);
  log_softmax_row(l, out);
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out[i], l[i] - std::log(z), 1e-6);
}
