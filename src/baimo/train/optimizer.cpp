#include "baimo/train/optimizer.h"

#include <cmath>
#include <numbers>

#include "baimo/util/error.h"

namespace baimo::train {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWConfig config) : groups_(std::move(groups)), config_(config) {
  for (auto& g : groups_)
    for (auto& p : g.params) {
      if (!p.defined() || p.value().dtype() != DType::F32) fail("AdamW: every parameter must be a defined F32 Var");
      m_.push_back(Tensor::zeros(p.shape()));
      v_.push_back(Tensor::zeros(p.shape()));
    }
}

void AdamW::zero_grad() {
  for (auto& g : groups_) ag::zero_grad(g.params);
}

void AdamW::step(float lr) {
  ++step_;
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps;
  const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(step_));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  size_t idx = 0;
  for (auto& g : groups_) {
    const float decay = g.weight_decay ? 1.f - lr * config_.weight_decay : 1.f;
    for (auto& p : g.params) {
      float* w = p.value().data<float>();
      float* m = m_[idx].data<float>();
      float* v = v_[idx].data<float>();
      ++idx;
      const int64_t n = p.numel();
      const float* gr = p.has_grad() ? p.node()->grad.data<float>() : nullptr;
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = gr ? gr[i] : 0.f;
        const float mi = b1 * m[i] + (1.f - b1) * gi;
        const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = std::sqrt(vi) / bc2_sqrt + eps;
        w[i] = w[i] * decay - step_size * mi / denom;
      }
    }
  }
}

float clip_grad_norm(std::span<const ag::Var> params, float max_norm) {
  double total = 0;
  for (auto& p : params) {
    if (!p.has_grad()) continue;
    const float* g = p.node()->grad.data<float>();
    const int64_t n = p.numel();
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
    total += s;
  }
  const float norm = static_cast<float>(std::sqrt(total));
  if (max_norm > 0 && norm > max_norm) {
    const float c = max_norm / (norm + 1e-6f);
    for (auto& p : params) {
      if (!p.has_grad()) continue;
      float* g = p.node()->grad.data<float>();
      const int64_t n = p.numel();
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) g[i] *= c;
    }
  }
  return norm;
}

LrSchedule LrSchedule::constant(float lr) {
  LrSchedule s;
  s.kind_ = Kind::Constant;
  s.peak_ = lr;
  return s;
}

LrSchedule LrSchedule::warmup_cosine(float peak, int64_t warmup_steps, int64_t total_steps, float min_lr) {
  if (warmup_steps < 0 || total_steps <= 0 || warmup_steps > total_steps)
    fail("lr schedule: need 0 <= warmup_steps ({}) <= total_steps ({}) and total_steps > 0", warmup_steps,
         total_steps);
  LrSchedule s;
  s.kind_ = Kind::WarmupCosine;
  s.peak_ = peak;
  s.min_lr_ = min_lr;
  s.warmup_ = warmup_steps;
  s.total_ = total_steps;
  return s;
}

LrSchedule LrSchedule::warmup_stable_decay(float peak, int64_t warmup_steps, int64_t total_steps,
                                           int64_t decay_steps, float min_lr) {
  if (warmup_steps < 0 || decay_steps < 0 || total_steps <= 0 || warmup_steps + decay_steps > total_steps)
    fail("wsd lr schedule: need warmup ({}) + decay ({}) steps <= total steps ({}), none negative", warmup_steps,
         decay_steps, total_steps);
  LrSchedule s;
  s.kind_ = Kind::WarmupStableDecay;
  s.peak_ = peak;
  s.min_lr_ = min_lr;
  s.warmup_ = warmup_steps;
  s.total_ = total_steps;
  s.decay_ = decay_steps;
  return s;
}

float LrSchedule::at(int64_t step) const {
  if (kind_ == Kind::Constant) return peak_;
  if (step < warmup_) return peak_ * static_cast<float>(step + 1) / static_cast<float>(warmup_);
  if (step >= total_) return min_lr_;
  if (kind_ == Kind::WarmupStableDecay) {
    const int64_t decay_start = total_ - decay_;
    if (step < decay_start) return peak_;
    const double progress = static_cast<double>(step - decay_start) / static_cast<double>(decay_);
    return static_cast<float>(peak_ + (min_lr_ - peak_) * progress);
  }
  const double span = static_cast<double>(total_ - warmup_);
  const double progress = span > 0 ? static_cast<double>(step - warmup_) / span : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return static_cast<float>(min_lr_ + (peak_ - min_lr_) * cosine);
}

}  // namespace baimo::train
