#include "baimo/infer/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "baimo/infer/softmax_row.h"
#include "baimo/util/error.h"

namespace sampler_test {
using namespace baimo;

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

// A large vocabulary: the nucleus found from a partially sorted prefix is the brute-force one.
TEST(Sampler, TopPAndMinPOnALargeVocabularyMatchBruteForce) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 3.f);
  std::vector<float> l(20000);
  for (auto& x : l) x = nd(rng);
  std::vector<int32_t> order(l.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  double z = 0;
  for (float x : l) z += std::exp(static_cast<double>(x - l[order[0]]));
  for (float top_p : {0.3f, 0.9f, 0.999f}) {
    size_t nucleus = 0;
    for (double mass = 0; mass < top_p; ++nucleus) mass += std::exp(static_cast<double>(l[order[nucleus]] - l[order[0]])) / z;
    SamplingParams sp;
    sp.top_p = top_p;
    sp.seed = 3;
    Sampler s(sp);
    std::vector<char> allowed(l.size(), 0);
    for (size_t i = 0; i < nucleus; ++i) allowed[order[i]] = 1;
    std::set<int32_t> seen;
    for (int i = 0; i < 200; ++i) {
      auto x = l;
      int32_t t = s.sample(x, {});
      ASSERT_TRUE(allowed[t]) << "top_p " << top_p << " drew " << t << " outside the nucleus of " << nucleus;
      seen.insert(t);
    }
    EXPECT_GT(seen.size(), std::min<size_t>(nucleus, 200) / 4) << top_p;
  }
  SamplingParams sp;
  sp.min_p = 0.05f;
  Sampler s(sp);
  for (int i = 0; i < 100; ++i) {
    auto x = l;
    int32_t t = s.sample(x, {});
    ASSERT_GE(std::exp(static_cast<double>(l[t] - l[order[0]])), 0.05 - 1e-6);
  }
}

TEST(Sampler, LastLogprobIsUnderTheTruncatedRenormalisedDistribution) {
  // probs 0.4 0.3 0.2 0.1; temperature 0.5 squares them (then renormalises).
  const std::vector<float> base = logits_of({0.4, 0.3, 0.2, 0.1});
  auto tempered = [](std::vector<double> p, std::vector<int> keep, int id) {
    double z = 0;
    for (int k : keep) z += p[static_cast<size_t>(k)] * p[static_cast<size_t>(k)];
    return std::log(p[static_cast<size_t>(id)] * p[static_cast<size_t>(id)] / z);
  };
  const std::vector<double> p{0.4, 0.3, 0.2, 0.1};
  struct Case {
    int top_k;
    float top_p;
    std::vector<int> keep;
  };
  // top-p 0.8 after temperature 0.5: masses 0.533 0.3 ... -> keeps 2 tokens.
  for (const Case& c : {Case{0, 1.0f, {0, 1, 2, 3}}, Case{3, 1.0f, {0, 1, 2}}, Case{0, 0.8f, {0, 1}}}) {
    SamplingParams sp;
    sp.temperature = 0.5f;
    sp.top_k = c.top_k;
    sp.top_p = c.top_p;
    sp.seed = 4;
    Sampler s(sp);
    for (int i = 0; i < 50; ++i) {
      auto l = base;
      const int id = s.sample(l, {});
      ASSERT_NE(std::find(c.keep.begin(), c.keep.end(), id), c.keep.end());
      EXPECT_NEAR(s.last_logprob(), tempered(p, c.keep, id), 1e-5) << c.top_k << " " << c.top_p << " " << id;
    }
  }
  SamplingParams one;
  one.top_k = 1;
  Sampler s1(one);
  auto l = base;
  s1.sample(l, {});
  EXPECT_EQ(s1.last_logprob(), 0.0f);
  SamplingParams greedy;
  greedy.temperature = 0;
  Sampler g(greedy);
  l = base;
  g.sample(l, {});
  EXPECT_EQ(g.last_logprob(), 0.0f);
}

TEST(Softmax, ExpAndSumsMatchDoublePrecision) {
  for (float x = -90.0f; x <= 0.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    const float got = softmax::exp_nonpos(x);
    if (x < -87.3f) EXPECT_EQ(got, 0.0f) << x;
    else EXPECT_NEAR(got, want, 3e-7 * want) << x;
  }
  EXPECT_EQ(softmax::exp_nonpos(0.0f), 1.0f);
  EXPECT_EQ(softmax::exp_nonpos(-std::numeric_limits<float>::infinity()), 0.0f);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  for (size_t n : {1, 15, 64, 100, 1000}) {
    std::vector<float> l(n), w(n);
    for (auto& v : l) v = nd(rng);
    const float mx = softmax::row_max(l.data(), n);
    EXPECT_EQ(mx, *std::max_element(l.begin(), l.end()));
    for (float t : {1.0f, 0.7f}) {
      std::vector<double> blocks((n + softmax::kBlock - 1) / softmax::kBlock);
      const double z = softmax::exp_sum(l.data(), n, t, mx / t, w.data(), blocks.data());
      double want = 0, block_total = 0;
      for (size_t i = 0; i < n; ++i) {
        const double e = std::exp(static_cast<double>(l[i] / t - mx / t));
        EXPECT_NEAR(w[i], e, 3e-7 * e);
        EXPECT_EQ(w[i], softmax::exp_nonpos(l[i] / t - mx / t)) << "vector and scalar lanes differ at " << i;
        want += e;
      }
      for (double b : blocks) block_total += b;
      EXPECT_NEAR(z, want, 1e-6 * want);
      EXPECT_NEAR(block_total, z, 1e-12 * z);
      EXPECT_EQ(softmax::exp_sum(l.data(), n, t, mx / t, nullptr, nullptr), z);
    }
  }
}

// The plain draw (temperature only, the rollout's case) over a large vocabulary: logits unchanged,
// the logprob and the raw normaliser are the log-softmax's, frequencies follow the distribution.
TEST(Sampler, PlainDrawOverALargeVocabulary) {
  const size_t V = 5000;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::vector<float> logits(V);
  for (auto& v : logits) v = nd(rng);
  logits[4321] = 9.0f;  // p ~ 0.3: in a block of its own far from the start
  logits[17] = 8.5f;
  for (float t : {1.0f, 0.8f}) {
    SamplingParams sp;
    sp.temperature = t;
    sp.seed = 11;
    Sampler s(sp);
    ASSERT_TRUE(s.plain(V));
    std::vector<float> scaled(V), lsm(V), raw_lsm(V);
    for (size_t i = 0; i < V; ++i) scaled[i] = logits[i] / t;
    log_softmax_row(scaled, lsm);
    log_softmax_row(logits, raw_lsm);
    std::map<int, int> h;
    const int draws = 20000;
    for (int d = 0; d < draws; ++d) {
      std::vector<float> l = logits;
      const int32_t id = s.sample(l, {});
      ASSERT_EQ(l, logits);
      ++h[id];
      EXPECT_NEAR(s.last_logprob(), lsm[static_cast<size_t>(id)], 1e-5f);
      if (t == 1.0f) EXPECT_NEAR(logits[static_cast<size_t>(id)] - s.last_raw_lse(), raw_lsm[static_cast<size_t>(id)], 1e-5f);
      else EXPECT_TRUE(std::isnan(s.last_raw_lse()));
    }
    for (int id : {4321, 17})
      EXPECT_NEAR(h[id] / static_cast<double>(draws), std::exp(lsm[static_cast<size_t>(id)]), 0.015) << id << " t " << t;
  }
  SamplingParams sp;
  sp.top_p = 0.9f;
  EXPECT_FALSE(Sampler(sp).plain(V));
  sp = {};
  sp.top_k = 40;
  EXPECT_FALSE(Sampler(sp).plain(V));
  EXPECT_TRUE(Sampler(sp).plain(40));
}

}  // namespace sampler_test
