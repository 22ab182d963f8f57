// SpikeGuard: decides whether a training step's update may be applied.
// Contract:
// - check(loss, grad_norm): NonFinite when either is NaN/inf; Spike when factor > 0, at least
//   `warmup` steps have been accepted, loss > factor * running mean, and loss is more than
//   kSpikeSigmas running standard deviations above that mean; else Ok. The second test keeps a
//   loss near 0 whose batches naturally vary by several times their mean (a converging reward
//   model or DPO run: mean 0.03, ordinary batches 0.2) from reading as spikes.
// - accept(loss) folds the loss into the running mean and variance (EMAs with decay `ema`,
//   bias-corrected) and resets the consecutive-rejection count; reject() counts one more consecutive
//   rejection and returns the count (the trainer rolls back when it reaches `patience`).
// - to_json / from_json carry the whole state exactly (doubles round-trip), for checkpoints;
//   from_json errors name `where` and the field (a state without "ema_sq_sum", from before the
//   variance was kept, reads as variance 0).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace baimo::train {

// A spike is also this many running standard deviations above the running mean.
inline constexpr double kSpikeSigmas = 6.0;

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
  double mean() const;    // bias-corrected running mean (0 before any accepted step)
  double stddev() const;  // bias-corrected running standard deviation (0 before any accepted step)
  int64_t consecutive() const { return consecutive_; }
  const SpikeGuardOptions& options() const { return o_; }

  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j, const std::string& where);

 private:
  SpikeGuardOptions o_;
  double ema_sum_ = 0, ema_sq_sum_ = 0, ema_weight_ = 0;  // mean = ema_sum_ / ema_weight_, E[loss²] likewise
  int64_t accepted_ = 0, consecutive_ = 0;
};

const char* verdict_name(SpikeGuard::Verdict v);

}  // namespace baimo::train
