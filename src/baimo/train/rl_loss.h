// Clipped policy and value losses of PPO and GRPO, with GRPO's, DAPO's and Dr. GRPO's loss
// normalisations, composed from autograd ops: differentiable in the policy's per-token log-probs
// logp and (PPO) the value head's per-token values; every other input is a constant.
// Layout (as rl_advantages.h): N responses x T token slots; per-token arrays are (N, T) row-major.
// logp, values: ag::Var with N * T elements (e.g. Transformer::token_logprobs of the batch);
// the constants: std::span<const float>; mask (N, T) with values 0/1. Masked-out slots are weighted
// by 0, so their inputs must still be finite (token_logprobs gives 0 at ignored targets).
// Per token (elementwise; A the advantage, old the behaviour policy's log-probs):
//   ratio = exp(logp - old)
//   policy: l_pg = max(-A ratio, -A clip(ratio, 1 - eps_low, 1 + eps_high))
//           dual clip c > 1 (Ye et al. 2020, as OpenRLHF): where A < 0, l_pg = min(l_pg, -c A)
//   value:  l_v = 1/2 max((V - R)^2, (clip(V, V_old - eps_v, V_old + eps_v) - R)^2)
//   GRPO:   l = l_pg + beta k3(logp, ref)      (k3 of rl_kl.h; beta = 0 leaves it out)
// Normalisation of a per-token l into the loss (1), m = mask, n_i = sum_t m[i, t]:
//   grpo:    (1 / N_g) sum_i (sum_t m l) / max(n_i, 1)    (token mean per response, mean over responses)
//   dapo:    sum_{i,t} m l / tokens_g                       (token mean over the global batch)
//   dr_grpo: sum_{i,t} m l / (N_g L)                        (L = max_completion_length, every n_i <= L)
// N_g = LossScale::global_responses, tokens_g = LossScale::global_tokens: the counts of the whole
// batch this micro-batch (or this rank's share) belongs to; 0 = this batch's own (N, sum m). With
// them set, the parts' losses and gradients add up exactly to the whole's.
// ppo_loss (TRL PPOTrainer): loss = policy_loss + vf_coef * value_loss, each normalised as above
// (TRL's is dapo with the batch's own count). grpo_loss (TRL GRPOTrainer): advantages per response
// (N), broadcast over its tokens; old log-probs empty = logp's own values (one update per batch: the
// ratio is 1, the gradient A d logp, as TRL with num_iterations = 1).
// Metrics (token means over the masked tokens, in double; `tokens` their count, so parts combine):
//   low_clip = share with ratio < 1 - eps_low and A < 0, high_clip = ratio > 1 + eps_high and A > 0,
//   region_clip = either (TRL GRPOTrainer clip_ratio/*), ratio_mean; PPO: value_clip_frac = share
//   where the clipped value term is the larger (TRL vf_clipfrac); GRPO: kl_mean = mean k3 when ref
//   log-probs are given (also with beta = 0), else 0.
// Errors (baimo::Error): sizes that disagree, a mask value not 0/1, eps_low outside [0, 1),
// eps_high < 0, dual_clip neither 0 (off) nor > 1, value_clip <= 0, beta < 0, beta > 0 without ref,
// dapo with no tokens, dr_grpo without L or with a response longer than L, global counts smaller
// than this batch's.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::train {

enum class LossNorm { Grpo, Dapo, DrGrpo };

// "grpo" | "dapo" | "dr_grpo"; anything else is an error listing them.
LossNorm parse_loss_norm(const std::string& name);
const char* loss_norm_name(LossNorm norm);

struct LossScale {
  int64_t global_responses = 0;       // N_g (grpo, dr_grpo); 0 = this batch's N
  double global_tokens = 0;           // tokens_g (dapo); 0 = this batch's masked tokens
  int64_t max_completion_length = 0;  // L (dr_grpo; required there)
};

struct ClipOptions {
  float eps_low = 0.2f, eps_high = 0.2f;
  float dual_clip = 0;  // c > 1, or 0 = off
};

struct ClipMetrics {
  double tokens = 0;  // masked tokens the means are over
  double low_clip = 0, high_clip = 0, region_clip = 0, ratio_mean = 0;
};

// Per-token terms (N * T elements, before normalisation).
struct PolicyTerm {
  ag::Var per_token;  // l_pg
  ClipMetrics metrics;
};
PolicyTerm clipped_policy_loss(const ag::Var& logp, std::span<const float> old_logp, std::span<const float> advantages,
                               std::span<const float> mask, int64_t n, int64_t t, const ClipOptions& o);

struct ValueTerm {
  ag::Var per_token;  // l_v
  double clip_frac = 0;
};
ValueTerm clipped_value_loss(const ag::Var& values, std::span<const float> old_values, std::span<const float> returns,
                             std::span<const float> mask, int64_t n, int64_t t, float value_clip);

// A per-token term (N * T elements) -> (1) by the normalisation.
ag::Var normalize_loss(const ag::Var& per_token, std::span<const float> mask, int64_t n, int64_t t, LossNorm norm,
                       const LossScale& scale);

struct PpoBatch {
  int64_t n = 0, t = 0;
  ag::Var logp, values;                                             // (N, T)
  std::vector<float> old_logp, advantages, old_values, returns, mask;  // (N, T) each
};
struct PpoOptions {
  ClipOptions clip;
  float value_clip = 0.2f;
  float vf_coef = 0.1f;
  LossNorm norm = LossNorm::Dapo;
  LossScale scale;
};
struct PpoLoss {
  ag::Var loss, policy_loss, value_loss;  // (1) each
  ClipMetrics metrics;
  double value_clip_frac = 0;
};
PpoLoss ppo_loss(const PpoBatch& b, const PpoOptions& o);

struct GrpoBatch {
  int64_t n = 0, t = 0;
  ag::Var logp;                   // (N, T)
  std::vector<float> old_logp;    // (N, T) or empty (logp's own values)
  std::vector<float> ref_logp;    // (N, T), or empty when beta == 0
  std::vector<float> advantages;  // (N): per response (group_advantages)
  std::vector<float> mask;        // (N, T)
};
struct GrpoOptions {
  ClipOptions clip;
  float beta = 0;  // weight of the k3 KL to the reference
  LossNorm norm = LossNorm::Grpo;
  LossScale scale;
};
struct GrpoLoss {
  ag::Var loss;  // (1)
  ClipMetrics metrics;
  double kl_mean = 0;
};
GrpoLoss grpo_loss(const GrpoBatch& b, const GrpoOptions& o);

}  // namespace baimo::train
