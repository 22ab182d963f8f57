// Rewards and advantages of RL from feedback: the loops of rl_advantages.h, accumulated in double.
#include "baimo/train/rl_advantages.h"

#include <cmath>

#include "baimo/util/error.h"

namespace baimo::train {

namespace {

void check_sized(const char* who, const char* what, std::span<const float> v, int64_t want) {
  if (static_cast<int64_t>(v.size()) != want) fail("{}: {} has {} values, expected {}", who, what, v.size(), want);
}

void check_dims(const char* who, int64_t n, int64_t t) {
  if (n < 1 || t < 1) fail("{}: {} responses of {} token slots (both must be >= 1)", who, n, t);
}

}  // namespace

void check_token_mask(const char* who, std::span<const float> mask, int64_t n, int64_t t) {
  check_dims(who, n, t);
  check_sized(who, "mask", mask, n * t);
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] != 0.f && mask[i] != 1.f)
      fail("{}: mask[{}] = {} (response {}, token {}) must be 0 or 1", who, i, mask[i], i / size_t(t), i % size_t(t));
}

std::vector<float> ppo_token_rewards(std::span<const float> scores, std::span<const float> kl,
                                     std::span<const float> mask, int64_t n, int64_t t, float kl_coef) {
  const char* who = "ppo_token_rewards";
  check_token_mask(who, mask, n, t);
  check_sized(who, "scores", scores, n);
  if (!kl.empty()) check_sized(who, "kl", kl, n * t);
  std::vector<float> r(static_cast<size_t>(n * t), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    int64_t last = -1;
    for (int64_t j = 0; j < t; ++j) {
      const size_t k = static_cast<size_t>(i * t + j);
      if (mask[k] == 0.f) continue;
      last = j;
      if (!kl.empty()) r[k] = -kl_coef * kl[k];
    }
    if (last < 0) fail("{}: response {} has no tokens in the mask (its score has no token to go to)", who, i);
    r[static_cast<size_t>(i * t + last)] += scores[static_cast<size_t>(i)];
  }
  return r;
}

Gae gae(std::span<const float> rewards, std::span<const float> values, std::span<const float> mask, int64_t n,
        int64_t t, float gamma, float lambda) {
  const char* who = "gae";
  check_token_mask(who, mask, n, t);
  check_sized(who, "rewards", rewards, n * t);
  check_sized(who, "values", values, n * t);
  if (!(gamma >= 0 && gamma <= 1) || !(lambda >= 0 && lambda <= 1))
    fail("{}: gamma {} and lambda {} must be in [0, 1]", who, gamma, lambda);
  Gae g;
  g.advantages.assign(static_cast<size_t>(n * t), 0.f);
  g.returns.assign(static_cast<size_t>(n * t), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    double next_value = 0, last = 0;
    for (int64_t j = t - 1; j >= 0; --j) {
      const size_t k = static_cast<size_t>(i * t + j);
      const double m = mask[k], v = m * values[k], r = m * rewards[k];
      const double delta = r + gamma * next_value - v;
      last = delta + double(gamma) * lambda * last;
      if (m != 0) {
        g.advantages[k] = static_cast<float>(last);
        g.returns[k] = static_cast<float>(last + v);
      }
      next_value = v;
    }
  }
  return g;
}

std::vector<float> masked_whiten(std::span<const float> x, std::span<const float> mask, bool shift_mean) {
  const char* who = "masked_whiten";
  check_token_mask(who, mask, 1, static_cast<int64_t>(x.size()));
  double count = 0, sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    count += mask[i];
    sum += mask[i] * double(x[i]);
  }
  if (count < 2) fail("{}: {} masked values (the unbiased variance needs at least 2)", who, count);
  const double mean = sum / count;
  double ss = 0;
  for (size_t i = 0; i < x.size(); ++i) ss += mask[i] * (x[i] - mean) * (x[i] - mean);
  const double inv = 1.0 / std::sqrt(ss / (count - 1) + 1e-8);
  std::vector<float> y(x.size(), 0.f);
  for (size_t i = 0; i < x.size(); ++i)
    if (mask[i] != 0.f) y[i] = static_cast<float>((x[i] - mean) * inv + (shift_mean ? 0.0 : mean));
  return y;
}

GroupAdvantages group_advantages(std::span<const float> rewards, int64_t group_size, bool scale_rewards) {
  const int64_t n = static_cast<int64_t>(rewards.size());
  if (group_size < 2 || n < group_size || n % group_size != 0)
    fail("group_advantages: {} rewards in groups of {} (a group needs at least 2 samples and the count must be a "
         "multiple of it)",
         n, group_size);
  GroupAdvantages g;
  g.advantages.resize(rewards.size());
  const size_t k = static_cast<size_t>(group_size);
  int64_t zero_std = 0;
  for (size_t g0 = 0; g0 < rewards.size(); g0 += k) {
    double sum = 0;
    for (size_t j = 0; j < k; ++j) sum += rewards[g0 + j];
    const double mean = sum / double(k);
    double ss = 0;
    for (size_t j = 0; j < k; ++j) ss += (rewards[g0 + j] - mean) * (rewards[g0 + j] - mean);
    const double sd = std::sqrt(ss / double(k - 1));
    bool all_equal = true;
    for (size_t j = 1; j < k; ++j) all_equal = all_equal && rewards[g0 + j] == rewards[g0];
    zero_std += all_equal;
    for (size_t j = 0; j < k; ++j) {
      const double a = rewards[g0 + j] - mean;
      g.advantages[g0 + j] = static_cast<float>(scale_rewards ? a / (sd + 1e-4) : a);
    }
  }
  g.frac_zero_std = double(zero_std) / double(n / group_size);
  return g;
}

}  // namespace baimo::train
