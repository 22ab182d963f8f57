// Preference losses (DPO and its family) and the Bradley–Terry reward-model loss, composed from
// autograd ops: differentiable in the policy's log-probs (resp. the rewards), the reference model's
// log-probs entering as constants.
// Contract:
// - A batch is B pairs (chosen y+, rejected y-). Per pair: the policy's SUM of answer-token log-probs
//   pi+ / pi- (ag::Var (B) each, e.g. from Transformer::token_logprobs -> ag::segment_sum), the answer
//   token counts n+ / n- (> 0), and for the losses with a reference model its sums ref+ / ref-.
//   Averages are a+ = pi+ / n+, a- = pi- / n- (likewise for the reference).
// - loss: (1), the MEAN over the B pairs of the per-pair loss l_i below, so that a batch split into
//   micro-batches (weighted by their pair counts) gives exactly the loss and gradient of the whole.
// - Per type (TRL's DPOTrainer / CPOTrainer / ORPOTrainer definitions; beta = o.beta, eps =
//   o.label_smoothing, gamma = o.simpo_gamma; logsig = log sigmoid):
//     sigmoid (DPO; cDPO when eps > 0):  h = (pi+ - pi-) - (ref+ - ref-)
//                                       l = -(1 - eps) logsig(beta h) - eps logsig(-beta h)
//     ipo  (on AVERAGE log-probs, as TRL): h = (a+ - a-) - (refa+ - refa-),  l = (h - 1 / (2 beta))^2
//     hinge:                             h as sigmoid,                       l = relu(1 - beta h)
//     simpo (no reference):              z = beta (a+ - a-) - gamma
//                                       l = -(1 - eps) logsig(z) - eps logsig(-z)
//       gamma is the target reward margin in reward units (TRL CPOConfig.simpo_gamma; the SimPO
//       paper's gamma_beta_ratio is gamma / beta).
//     orpo (no reference):               log_odds = (a+ - a-) - (log(1 - e^a+) - log(1 - e^a-))
//                                       l = -a+ - beta logsig(log_odds)
//       The NLL term is the pair's mean over its chosen tokens (TRL averages over all chosen tokens
//       of the batch; per-pair means keep micro-batch splitting exact). a+, a- must be < 0.
//   label_smoothing applies to sigmoid and simpo only (another type with eps != 0 is an error).
// - RPO (TRL DPOConfig.rpo_alpha = alpha > 0, any type): l_i += alpha * (-a+), the chosen answer's
//   mean token NLL (per pair, as ORPO's term), which keeps the chosen log-probs from falling.
// - Rewards (per pair, detached; TRL's logged rewards): sigmoid, hinge: beta (pi - ref) on sums;
//   ipo: beta (a - refa) on averages (TRL averages every log-prob for ipo); simpo, orpo: beta a.
// - Bad input (sizes differ, a count <= 0, missing reference sums, beta <= 0, eps outside
//   [0, 0.5], rpo_alpha < 0) throws baimo::Error.
#pragma once
#include <string>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::train {

enum class PreferenceLossType { Sigmoid, Ipo, Hinge, Simpo, Orpo };

// "sigmoid" | "ipo" | "hinge" | "simpo" | "orpo"; anything else is an error listing them.
PreferenceLossType parse_preference_loss(const std::string& name);
const char* preference_loss_name(PreferenceLossType type);
// Whether the loss compares against a reference model (simpo, orpo: false).
bool needs_reference(PreferenceLossType type);

struct PreferenceLossOptions {
  PreferenceLossType type = PreferenceLossType::Sigmoid;
  float beta = 0.1f;
  float label_smoothing = 0;
  float simpo_gamma = 0.5f;
  float rpo_alpha = 0;  // weight of the chosen answers' NLL added to the loss (0: off)
};

struct PreferenceBatch {  // B pairs
  ag::Var chosen_logps, rejected_logps;               // (B): policy sums of answer-token log-probs
  std::vector<float> chosen_tokens, rejected_tokens;  // (B): answer token counts (> 0)
  std::vector<float> ref_chosen, ref_rejected;        // (B): reference sums (ignored, may be empty,
                                                      // when !needs_reference)
};

struct PreferenceLossResult {
  ag::Var loss;                                         // (1): mean over the B pairs
  std::vector<float> chosen_rewards, rejected_rewards;  // (B) each
};

PreferenceLossResult preference_loss(const PreferenceBatch& b, const PreferenceLossOptions& o);

// Reward model (Bradley–Terry), r_chosen, r_rejected: (B) (any shapes with B elements):
//   mean_i -logsig(r+_i - r-_i) + center_coef * mean_i (r+_i + r-_i)^2   -> (1)
// (TRL RewardTrainer with center_rewards_coefficient = center_coef; 0 leaves the term out).
ag::Var bradley_terry_loss(const ag::Var& r_chosen, const ag::Var& r_rejected, float center_coef = 0);

}  // namespace baimo::train
