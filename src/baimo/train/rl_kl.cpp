// KL estimators (ag ops over logp, the reference a constant Var) and the adaptive KL controller.
#include "baimo/train/rl_kl.h"

#include <algorithm>
#include <cmath>

#include "baimo/autograd/ops.h"
#include "baimo/util/error.h"

namespace baimo::train {

namespace {
constexpr const char* kKlEstimatorNames[] = {"k1", "k2", "k3"};
}

KlEstimator parse_kl_estimator(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kKlEstimatorNames[i]) return static_cast<KlEstimator>(i);
  fail("unknown KL estimator \"{}\": expected one of k1, k2, k3", name);
}

const char* kl_estimator_name(KlEstimator k) { return kKlEstimatorNames[static_cast<int>(k)]; }

ag::Var kl_estimate(const ag::Var& logp, std::span<const float> ref, KlEstimator k) {
  if (!logp.defined()) fail("kl_estimate: logp must be given");
  if (static_cast<int64_t>(ref.size()) != logp.numel())
    fail("kl_estimate: {} reference log-probs for {} policy log-probs", ref.size(), logp.numel());
  const ag::Var r = ag::Var::constant(Tensor::from_data(logp.shape(), ref));
  const ag::Var d = ag::sub(logp, r);
  switch (k) {
    case KlEstimator::K1: return d;
    case KlEstimator::K2: return ag::scale(ag::mul(d, d), 0.5f);
    case KlEstimator::K3: break;
  }
  return ag::add_scalar(ag::add(ag::exp(ag::neg(d)), d), -1.f);
}

std::vector<float> kl_values(std::span<const float> logp, std::span<const float> ref, KlEstimator k,
                             std::span<const float> mask) {
  if (ref.size() != logp.size() || (!mask.empty() && mask.size() != logp.size()))
    fail("kl_values: {} policy log-probs, {} reference log-probs, {} mask values (must agree; the mask may be empty)",
         logp.size(), ref.size(), mask.size());
  std::vector<float> out(logp.size(), 0.f);
  for (size_t i = 0; i < logp.size(); ++i) {
    if (!mask.empty() && mask[i] == 0.f) continue;
    const double d = double(logp[i]) - ref[i];
    switch (k) {
      case KlEstimator::K1: out[i] = static_cast<float>(d); break;
      case KlEstimator::K2: out[i] = static_cast<float>(0.5 * d * d); break;
      case KlEstimator::K3: out[i] = static_cast<float>(std::expm1(-d) + d); break;
    }
  }
  return out;
}

AdaptiveKlController::AdaptiveKlController(float init_kl_coef, float target, float horizon)
    : value_(init_kl_coef), target_(target), horizon_(horizon) {
  if (!(init_kl_coef >= 0) || !(target > 0) || !(horizon > 0))
    fail("adaptive KL controller: init_kl_coef {} must be >= 0, target {} and horizon {} > 0", init_kl_coef, target,
         horizon);
}

void AdaptiveKlController::update(double current, int64_t n_steps) {
  if (n_steps < 0 || !std::isfinite(current))
    fail("adaptive KL controller: update with KL {} over {} steps (a finite KL and steps >= 0)", current, n_steps);
  const double e = std::clamp(current / target_ - 1.0, -0.2, 0.2);
  value_ = static_cast<float>(value_ * (1.0 + e * double(n_steps) / horizon_));
}

}  // namespace baimo::train
