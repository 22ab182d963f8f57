// AdamW, global-norm gradient clipping, learning-rate schedules.
// Contract:
// - AdamW matches torch.optim.AdamW (decoupled decay p -= lr*wd*p, then bias-corrected Adam:
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)). Parameter groups carry their
//   own weight-decay flag so norms, biases and embeddings can be excluded.
// - A parameter whose gradient is absent (no has_grad()) is updated as with a zero gradient
//   (moments decay, weight decay applies), as torch does for grads set to zero.
// - State (m, v per parameter, step count) is exposed for checkpoints.
// - clip_grad_norm scales every gradient by max_norm / (norm + 1e-6) when norm > max_norm
//   (torch.nn.utils.clip_grad_norm_) and returns the total norm before clipping.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::train {

struct ParamGroup {
  std::vector<ag::Var> params;
  bool weight_decay = true;  // false for norms, biases, embeddings when asked
};

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;
};

class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWConfig config);
  void step(float lr);  // one update with this learning rate
  int64_t steps() const { return step_; }
  void set_steps(int64_t s) { step_ = s; }  // on checkpoint resume
  const AdamWConfig& config() const { return config_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Moments of the i-th parameter in group order (group 0's params first): (same shape).
  Tensor& exp_avg(size_t i) { return m_[i]; }
  Tensor& exp_avg_sq(size_t i) { return v_[i]; }
  const Tensor& exp_avg(size_t i) const { return m_[i]; }
  const Tensor& exp_avg_sq(size_t i) const { return v_[i]; }
  size_t num_params() const { return m_.size(); }
  void zero_grad();

 private:
  std::vector<ParamGroup> groups_;
  AdamWConfig config_;
  std::vector<Tensor> m_, v_;
  int64_t step_ = 0;
};

// Global L2 norm over all gradients; clips in place when max_norm > 0. Returns the norm before.
float clip_grad_norm(std::span<const ag::Var> params, float max_norm);

// Learning-rate schedule: linear warmup from 0 to peak over warmup_steps, then cosine decay to
// min_lr at total_steps (constant min_lr after); or constant. at(step) is 0-based: the lr used
// for the update numbered `step` (warmup gives peak*(step+1)/warmup_steps).
// warmup_stable_decay (WSD): the same warmup, then peak until step total - decay_steps, then linear
// decay reaching min_lr at total_steps (lr = peak + (min_lr - peak) * (step - decay_start) / decay_steps),
// constant min_lr after.
class LrSchedule {
 public:
  static LrSchedule constant(float lr);
  static LrSchedule warmup_cosine(float peak, int64_t warmup_steps, int64_t total_steps,
                                  float min_lr = 0.f);
  static LrSchedule warmup_stable_decay(float peak, int64_t warmup_steps, int64_t total_steps, int64_t decay_steps,
                                        float min_lr = 0.f);
  float at(int64_t step) const;

 private:
  enum class Kind { Constant, WarmupCosine, WarmupStableDecay } kind_ = Kind::Constant;
  float peak_ = 0, min_lr_ = 0;
  int64_t warmup_ = 0, total_ = 0, decay_ = 0;
};

}  // namespace baimo::train
