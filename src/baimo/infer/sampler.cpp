#include "baimo/infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "baimo/infer/softmax_row.h"
#include "baimo/util/error.h"

namespace baimo {

Sampler::Sampler(SamplingParams params) : params_(std::move(params)), rng_(params_.seed) {
  const auto& p = params_;
  if (!(p.temperature >= 0)) fail("temperature must be >= 0, got {}", p.temperature);
  if (p.top_k < 0) fail("top_k must be >= 0, got {}", p.top_k);
  if (!(p.top_p > 0 && p.top_p <= 1)) fail("top_p must be in (0, 1], got {}", p.top_p);
  if (!(p.min_p >= 0 && p.min_p <= 1)) fail("min_p must be in [0, 1], got {}", p.min_p);
  if (!(p.repetition_penalty > 0)) fail("repetition_penalty must be > 0, got {}", p.repetition_penalty);
}

bool Sampler::plain(size_t vocab) const {
  const auto& p = params_;
  return p.temperature > 0 && (p.top_k <= 0 || static_cast<size_t>(p.top_k) >= vocab) && p.top_p >= 1 &&
         p.min_p <= 0 && p.logit_bias.empty() && p.repetition_penalty == 1 && p.presence_penalty == 0 &&
         p.frequency_penalty == 0;
}

// The plain draw: weights exp(l / T - max) and their block sums in one vectorised pass, the draw
// walks the block sums and then one block (not the whole vocabulary term by term).
int32_t Sampler::sample_plain(std::span<const float> logits) {
  const float T = params_.temperature;
  const size_t V = logits.size();
  weights_.resize(V);
  blocks_.resize((V + softmax::kBlock - 1) / softmax::kBlock);
  const float mx_raw = softmax::row_max(logits.data(), V);
  const float mx = mx_raw / T;  // = max of l / T (division by T > 0 is monotone)
  const double total = softmax::exp_sum(logits.data(), V, T, mx, weights_.data(), blocks_.data());
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  size_t chosen = V - 1;
  for (size_t b = 0; b < blocks_.size(); ++b) {
    if (r > blocks_[b]) {
      r -= blocks_[b];
      continue;
    }
    const size_t end = std::min(V, (b + 1) * softmax::kBlock);
    chosen = end - 1;
    for (size_t i = b * softmax::kBlock; i < end; ++i) {
      r -= static_cast<double>(weights_[i]);
      if (r <= 0) {
        chosen = i;
        break;
      }
    }
    break;
  }
  // A zero-weight pick at a block's end (rounding) moves to the last token of positive weight.
  while (chosen > 0 && weights_[chosen] == 0) --chosen;
  const int32_t id = static_cast<int32_t>(chosen);
  const double log_total = std::log(total);
  last_logprob_ = static_cast<float>(static_cast<double>(logits[chosen] / T - mx) - log_total);
  last_raw_lse_ = T == 1.0f ? mx_raw + static_cast<float>(log_total) : std::numeric_limits<float>::quiet_NaN();
  return id;
}

void Sampler::adjust(std::span<float> logits, std::span<const int32_t> history) {
  const auto& p = params_;
  const int32_t V = static_cast<int32_t>(logits.size());
  for (auto [tok, bias] : p.logit_bias)
    if (tok >= 0 && tok < V) logits[tok] += bias;
  if (p.repetition_penalty != 1 || p.presence_penalty != 0 || p.frequency_penalty != 0) {
    counts_.clear();
    for (int32_t t : history)
      if (t >= 0 && t < V) ++counts_[t];
    for (auto [tok, n] : counts_) {
      float& l = logits[tok];
      if (p.repetition_penalty != 1) l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
      l -= p.presence_penalty + p.frequency_penalty * n;
    }
  }
}

size_t Sampler::keep_candidates(std::span<const float> logits) {
  const auto& p = params_;
  const int32_t V = static_cast<int32_t>(logits.size());
  // Scaled logits; the normaliser over all of them.
  candidates_.resize(V);
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < V; ++i) {
    candidates_[i] = {logits[i] / p.temperature, i};
    mx = std::max(mx, candidates_[i].first);
  }
  scaled_max_ = mx;
  // From here on .first is the unnormalised probability exp(l - max): same order as the logits.
  for (auto& c : candidates_) c.first = std::exp(c.first - mx);
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  auto weight = [&](size_t i) { return static_cast<double>(candidates_[i].first); };
  size_t n = candidates_.size();
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < n) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + p.top_k, candidates_.end(), by_logit);
    n = p.top_k;
  }
  size_t keep = n;
  if (p.top_p < 1 || p.min_p > 0) {
    // top-p: smallest prefix (by logit) with mass >= top_p; min-p: drop p < min_p * p_max. Both cut a
    // prefix of the sorted order, so sort only a growing prefix (a full sort of a 150K vocabulary
    // per token costs milliseconds) until the cut falls inside it.
    double z = 0;
    for (size_t i = 0; i < n; ++i) z += weight(i);
    const double p_max = 1.0 / z;  // the top candidate's weight is exp(0) = 1
    for (size_t sorted = std::min<size_t>(n, 64);; sorted = std::min(n, sorted * 8)) {
      if (p.top_k <= 0 || static_cast<size_t>(p.top_k) >= candidates_.size())
        std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(sorted),
                          candidates_.begin() + static_cast<ptrdiff_t>(n), by_logit);
      double mass = 0;
      size_t cut = 0;
      for (size_t i = 0; i < sorted && !cut; ++i) {
        const double pi = weight(i) / z;
        if (p.min_p > 0 && i > 0 && pi < p.min_p * p_max) cut = i;
        else if (mass += pi; p.top_p < 1 && mass >= p.top_p) cut = i + 1;
      }
      if (cut) {
        keep = cut;
        break;
      }
      if (sorted == n) break;
    }
  }
  return keep;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const auto& p = params_;
  last_logprob_ = 0;
  last_raw_lse_ = std::numeric_limits<float>::quiet_NaN();
  if (!logits.empty() && plain(logits.size())) return sample_plain(logits);
  adjust(logits, history);
  if (p.temperature == 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const size_t keep = keep_candidates(logits);
  auto weight = [&](size_t i) { return static_cast<double>(candidates_[i].first); };
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += weight(i);
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  size_t chosen = keep - 1;
  for (size_t i = 0; i < keep; ++i) {
    r -= weight(i);
    if (r <= 0) {
      chosen = i;
      break;
    }
  }
  // From the scaled logit itself (not log of its weight): exact for tokens far below the top one.
  const int32_t id = candidates_[chosen].second;
  last_logprob_ = static_cast<float>(static_cast<double>(logits[id] / p.temperature - scaled_max_) - std::log(total));
  return id;
}

void Sampler::distribution(std::span<float> logits, std::span<const int32_t> history, std::vector<float>& probs) {
  const auto& p = params_;
  const size_t V = logits.size();
  probs.assign(V, 0.0f);
  if (V == 0) return;
  if (plain(V)) {  // the weights sample_plain draws from
    const float mx = softmax::row_max(logits.data(), V) / p.temperature;
    const double total = softmax::exp_sum(logits.data(), V, p.temperature, mx, probs.data(), nullptr);
    const float inv = static_cast<float>(1.0 / total);
    for (float& x : probs) x *= inv;
    return;
  }
  adjust(logits, history);
  if (p.temperature == 0) {
    probs[static_cast<size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin())] = 1.0f;
    return;
  }
  const size_t keep = keep_candidates(logits);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += static_cast<double>(candidates_[i].first);
  for (size_t i = 0; i < keep; ++i)
    probs[static_cast<size_t>(candidates_[i].second)] = static_cast<float>(candidates_[i].first / total);
}

int32_t Sampler::draw(std::span<const float> weights) {
  double total = 0;
  for (float w : weights) total += static_cast<double>(w);
  if (!(total > 0)) fail("sampler: cannot draw from weights that sum to {}", total);
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  size_t chosen = weights.size() - 1;
  for (size_t i = 0; i < weights.size(); ++i) {
    r -= static_cast<double>(weights[i]);
    if (r <= 0 && weights[i] > 0) {
      chosen = i;
      break;
    }
  }
  while (chosen > 0 && weights[chosen] <= 0) --chosen;  // rounding past the end: the last positive weight
  return static_cast<int32_t>(chosen);
}

double Sampler::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

void log_softmax_row(std::span<const float> logits, std::span<float> out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float l : logits) mx = std::max(mx, l);
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l - mx));
  float lz = static_cast<float>(std::log(z)) + mx;
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lz;
}

}  // namespace baimo
