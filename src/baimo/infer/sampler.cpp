#include "baimo/infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
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
  if (p.temperature == 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());

  // Candidates sorted by logit (descending) only as far as the filters need.
  candidates_.resize(V);
  for (int32_t i = 0; i < V; ++i) candidates_[i] = {logits[i] / p.temperature, i};
  size_t n = candidates_.size();
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < n) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + p.top_k, candidates_.end(), by_logit);
    n = p.top_k;
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // Softmax over the kept candidates.
  float mx = candidates_[0].first;
  double z = 0;
  for (size_t i = 0; i < n; ++i) z += std::exp(static_cast<double>(candidates_[i].first - mx));
  // top-p: smallest prefix with mass >= top_p; min-p: drop p < min_p * p_max (p_max = 1/z).
  double mass = 0;
  size_t keep = n;
  for (size_t i = 0; i < n; ++i) {
    double pi = std::exp(static_cast<double>(candidates_[i].first - mx)) / z;
    if (p.min_p > 0 && i > 0 && pi < p.min_p * (1.0 / z)) {
      keep = i;
      break;
    }
    mass += pi;
    if (p.top_p < 1 && mass >= p.top_p) {
      keep = i + 1;
      break;
    }
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += std::exp(static_cast<double>(candidates_[i].first - mx));
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= std::exp(static_cast<double>(candidates_[i].first - mx));
    if (r <= 0) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

void log_softmax_row(std::span<const float> logits, std::span<float> out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float l : logits) mx = std::max(mx, l);
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l - mx));
  float lz = static_cast<float>(std::log(z)) + mx;
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lz;
}

}  // namespace baimo
