// SpikeGuard: decides whether a training step's update may be applied.
// Contract:
// - check(loss, grad_norm): NonFinite when either is NaN/inf; Spike when factor > 0, at least
//   `warmup` steps have been accepted, and loss > factor * running mean; else Ok.
// - accept(loss) folds the loss into the running mean (EMA with decay `ema`, bias-corrected) and
//   resets the consecutive-rejection count; reject() counts one more consecutive rejection and
//   returns the count (the trainer rolls back when it reaches `patience`).
// - to_json / from_json carry the whole state exactly (doubles round-trip), for checkpoints;
//   from_json errors name `where` and the field.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace baimo::train {

struct SpikeGuardOptions {
  float factor = 4.0f;     // 0 = no spike test (non-finite values are always rejected)
  int64_t patience = 3;    // consecutive rejections that trigger a rollback (0 = never roll back)
  int64_t warmup = 20;     // accepted steps before the spike test applies
  float ema = 0.98f;       // running-mean decay
};

class SpikeGuard {
 public:
  enum class Verdict { Ok, NonFinite, Spike };
  explicit SpikeGuard(SpikeGuardOptions o = {}) : o_(o) {}
  Verdict check(float loss, float grad_norm) const;
  void accept(float loss);
  int64_t reject() { return ++consecutive_; }
  double mean() const;  // bias-corrected running mean (0 before any accepted step)
  int64_t consecutive() const { return consecutive_; }
  const SpikeGuardOptions& options() const { return o_; }

  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j, const std::string& where);

 private:
  SpikeGuardOptions o_;
  double ema_sum_ = 0, ema_weight_ = 0;  // mean = ema_sum_ / ema_weight_
  int64_t accepted_ = 0, consecutive_ = 0;
};

const char* verdict_name(SpikeGuard::Verdict v);

}  // namespace baimo::train
