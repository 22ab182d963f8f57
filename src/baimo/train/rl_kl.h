// KL estimators between the policy and the reference model per token, and the adaptive KL
// coefficient of PPO (Ziegler et al. 2019).
// Contract:
// - Per token, with d = logp - ref (log-probs of the sampled token under the policy and the
//   reference; Schulman, "Approximating KL divergence"):
//     k1 = d,   k2 = d^2 / 2,   k3 = exp(-d) + d - 1 = exp(ref - logp) - (ref - logp) - 1   (>= 0)
//   kl_estimate: differentiable in logp (GRPO's beta * KL term), ref a constant. logp: ag::Var of
//   any shape, ref: its numel values -> the same shape.
//   kl_values: detached (PPO's per-token reward penalty): logp, ref, and mask (0/1) or empty
//   -> the estimate, 0 where mask == 0.
// - AdaptiveKlController (TRL AdaptiveKLController): value() starts at init_kl_coef; after a batch
//   of n_steps samples whose measured KL is `current`:
//     e = clip(current / target - 1, -0.2, 0.2),   value *= 1 + e * n_steps / horizon
//   target > 0, horizon > 0, init_kl_coef >= 0. (A fixed coefficient is a plain float.)
// Bad input (sizes differ, bad estimator name, bad controller parameters) throws baimo::Error.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::train {

enum class KlEstimator { K1, K2, K3 };

// "k1" | "k2" | "k3"; anything else is an error listing them.
KlEstimator parse_kl_estimator(const std::string& name);
const char* kl_estimator_name(KlEstimator k);

ag::Var kl_estimate(const ag::Var& logp, std::span<const float> ref, KlEstimator k);
std::vector<float> kl_values(std::span<const float> logp, std::span<const float> ref, KlEstimator k,
                             std::span<const float> mask = {});

class AdaptiveKlController {
 public:
  AdaptiveKlController(float init_kl_coef, float target, float horizon);
  float value() const { return value_; }
  void update(double current, int64_t n_steps);

 private:
  float value_, target_, horizon_;
};

}  // namespace baimo::train
