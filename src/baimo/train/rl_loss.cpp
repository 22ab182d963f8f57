// PPO / GRPO losses: each per-token formula of rl_loss.h written with ag ops over (N * T) Vars,
// every constant (old log-probs, advantages, returns, normalisation weights) a constant Var.
#include "baimo/train/rl_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "baimo/autograd/ops.h"
#include "baimo/train/rl_advantages.h"
#include "baimo/train/rl_kl.h"
#include "baimo/util/error.h"

namespace baimo::train {

namespace {

constexpr const char* kLossNormNames[] = {"grpo", "dapo", "dr_grpo"};

ag::Var constant_of(std::span<const float> v) {
  return ag::Var::constant(Tensor::from_data(Shape{static_cast<int64_t>(v.size())}, v));
}

// The Var as (N * T), after checking its size.
ag::Var flat(const char* who, const char* what, const ag::Var& x, int64_t n, int64_t t) {
  if (!x.defined()) fail("{}: {} must be given", who, what);
  if (x.numel() != n * t) fail("{}: {} has {} values, expected {} x {}", who, what, x.numel(), n, t);
  return ag::reshape(x, Shape{n * t});
}

void check_input_size(const char* who, const char* what, std::span<const float> v, int64_t want) {
  if (static_cast<int64_t>(v.size()) != want) fail("{}: {} has {} values, expected {}", who, what, v.size(), want);
}

void check_clip(const char* who, const ClipOptions& o) {
  if (!(o.eps_low >= 0 && o.eps_low < 1) || !(o.eps_high >= 0))
    fail("{}: eps_low {} must be in [0, 1) and eps_high {} >= 0", who, o.eps_low, o.eps_high);
  if (!(o.dual_clip == 0 || o.dual_clip > 1)) fail("{}: dual_clip {} must be 0 (off) or > 1", who, o.dual_clip);
}

double masked_tokens(std::span<const float> mask) {
  double s = 0;
  for (float m : mask) s += m;
  return s;
}

}  // namespace

LossNorm parse_loss_norm(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kLossNormNames[i]) return static_cast<LossNorm>(i);
  fail("unknown loss normalisation \"{}\": expected one of grpo, dapo, dr_grpo", name);
}

const char* loss_norm_name(LossNorm norm) { return kLossNormNames[static_cast<int>(norm)]; }

PolicyTerm clipped_policy_loss(const ag::Var& logp, std::span<const float> old_logp, std::span<const float> advantages,
                               std::span<const float> mask, int64_t n, int64_t t, const ClipOptions& o) {
  const char* who = "clipped_policy_loss";
  check_token_mask(who, mask, n, t);
  const ag::Var lp = flat(who, "logp", logp, n, t);
  check_input_size(who, "old_logp", old_logp, n * t);
  check_input_size(who, "advantages", advantages, n * t);
  check_clip(who, o);
  const size_t nt = static_cast<size_t>(n * t);
  std::vector<float> neg_a(nt);
  for (size_t i = 0; i < nt; ++i) neg_a[i] = -advantages[i];
  const ag::Var na = constant_of(neg_a);
  const ag::Var ratio = ag::exp(ag::sub(lp, constant_of(old_logp)));
  const ag::Var unclipped = ag::mul(ratio, na);
  const ag::Var clipped = ag::mul(ag::clamp(ratio, 1.f - o.eps_low, 1.f + o.eps_high), na);
  PolicyTerm res;
  res.per_token = ag::maximum(unclipped, clipped);
  if (o.dual_clip > 0) {  // where A < 0: min(l, -c A); elsewhere min(l, +inf) = l
    std::vector<float> cap(nt, std::numeric_limits<float>::infinity());
    for (size_t i = 0; i < nt; ++i)
      if (advantages[i] < 0) cap[i] = -o.dual_clip * advantages[i];
    res.per_token = ag::minimum(res.per_token, constant_of(cap));
  }
  ClipMetrics& m = res.metrics;
  const float* r = ratio.value().data<float>();
  for (size_t i = 0; i < nt; ++i) {
    if (mask[i] == 0.f) continue;
    const bool low = r[i] < 1.f - o.eps_low && advantages[i] < 0;
    const bool high = r[i] > 1.f + o.eps_high && advantages[i] > 0;
    m.tokens += 1;
    m.low_clip += low;
    m.high_clip += high;
    m.region_clip += low || high;
    m.ratio_mean += r[i];
  }
  if (m.tokens > 0) {
    m.low_clip /= m.tokens;
    m.high_clip /= m.tokens;
    m.region_clip /= m.tokens;
    m.ratio_mean /= m.tokens;
  }
  return res;
}

ValueTerm clipped_value_loss(const ag::Var& values, std::span<const float> old_values, std::span<const float> returns,
                             std::span<const float> mask, int64_t n, int64_t t, float value_clip) {
  const char* who = "clipped_value_loss";
  check_token_mask(who, mask, n, t);
  const ag::Var v = flat(who, "values", values, n, t);
  check_input_size(who, "old_values", old_values, n * t);
  check_input_size(who, "returns", returns, n * t);
  if (!(value_clip > 0)) fail("{}: value_clip {} must be > 0", who, value_clip);
  const size_t nt = static_cast<size_t>(n * t);
  std::vector<float> old_minus_ret(nt);
  for (size_t i = 0; i < nt; ++i) old_minus_ret[i] = old_values[i] - returns[i];
  // clip(V, V_old - e, V_old + e) - R = clip(V - V_old, -e, e) + (V_old - R)
  const ag::Var e1 = ag::sub(v, constant_of(returns));
  const ag::Var e2 = ag::add(ag::clamp(ag::sub(v, constant_of(old_values)), -value_clip, value_clip),
                             constant_of(old_minus_ret));
  const ag::Var s1 = ag::mul(e1, e1), s2 = ag::mul(e2, e2);
  ValueTerm res;
  res.per_token = ag::scale(ag::maximum(s1, s2), 0.5f);
  // counted from the inputs in double: V inside the clip range is never clipped (the Var's rounding
  // of V_old + (V - V_old) could make the two terms differ there)
  const float* vv = v.value().data<float>();
  double tokens = 0, clipped = 0;
  for (size_t i = 0; i < nt; ++i) {
    if (mask[i] == 0.f) continue;
    const double x = vv[i], r = returns[i];
    const double c = std::clamp(x, double(old_values[i]) - value_clip, double(old_values[i]) + value_clip);
    tokens += 1;
    clipped += (c - r) * (c - r) > (x - r) * (x - r);
  }
  res.clip_frac = tokens > 0 ? clipped / tokens : 0.0;
  return res;
}

ag::Var normalize_loss(const ag::Var& per_token, std::span<const float> mask, int64_t n, int64_t t, LossNorm norm,
                       const LossScale& scale) {
  const char* who = "normalize_loss";
  check_token_mask(who, mask, n, t);
  const ag::Var x = flat(who, "the per-token loss", per_token, n, t);
  const double tokens = masked_tokens(mask);
  if (scale.global_responses != 0 && scale.global_responses < n)
    fail("{}: global_responses {} is less than this batch's {} responses", who, scale.global_responses, n);
  if (scale.global_tokens != 0 && !(scale.global_tokens >= tokens))
    fail("{}: global_tokens {} is less than this batch's {} tokens", who, scale.global_tokens, tokens);
  const double n_g = scale.global_responses > 0 ? double(scale.global_responses) : double(n);
  std::vector<float> w(static_cast<size_t>(n * t), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    const size_t row = static_cast<size_t>(i * t);
    double n_i = 0;
    for (int64_t j = 0; j < t; ++j) n_i += mask[row + static_cast<size_t>(j)];
    double wi = 0;
    switch (norm) {
      case LossNorm::Grpo: wi = 1.0 / (std::max(n_i, 1.0) * n_g); break;
      case LossNorm::Dapo: {
        const double tg = scale.global_tokens > 0 ? scale.global_tokens : tokens;
        if (!(tg > 0)) fail("{}: dapo over a batch without response tokens", who);
        wi = 1.0 / tg;
        break;
      }
      case LossNorm::DrGrpo: {
        const int64_t L = scale.max_completion_length;
        if (L < 1) fail("{}: dr_grpo needs max_completion_length >= 1 (got {})", who, L);
        if (n_i > double(L)) fail("{}: response {} has {} tokens, more than max_completion_length {}", who, i, n_i, L);
        wi = 1.0 / (n_g * double(L));
        break;
      }
    }
    for (int64_t j = 0; j < t; ++j) w[row + static_cast<size_t>(j)] = static_cast<float>(mask[row + size_t(j)] * wi);
  }
  return ag::masked_sum(x, Tensor::from_data(Shape{n * t}, w));
}

PpoLoss ppo_loss(const PpoBatch& b, const PpoOptions& o) {
  if (!(o.vf_coef >= 0)) fail("ppo_loss: vf_coef {} must be >= 0", o.vf_coef);
  PolicyTerm pg = clipped_policy_loss(b.logp, b.old_logp, b.advantages, b.mask, b.n, b.t, o.clip);
  ValueTerm vf = clipped_value_loss(b.values, b.old_values, b.returns, b.mask, b.n, b.t, o.value_clip);
  PpoLoss res;
  res.policy_loss = normalize_loss(pg.per_token, b.mask, b.n, b.t, o.norm, o.scale);
  res.value_loss = normalize_loss(vf.per_token, b.mask, b.n, b.t, o.norm, o.scale);
  res.loss = ag::add(res.policy_loss, ag::scale(res.value_loss, o.vf_coef));
  res.metrics = pg.metrics;
  res.value_clip_frac = vf.clip_frac;
  return res;
}

GrpoLoss grpo_loss(const GrpoBatch& b, const GrpoOptions& o) {
  const char* who = "grpo_loss";
  check_token_mask(who, b.mask, b.n, b.t);
  const ag::Var lp = flat(who, "logp", b.logp, b.n, b.t);
  check_input_size(who, "advantages (one per response)", b.advantages, b.n);
  if (!(o.beta >= 0)) fail("{}: beta {} must be >= 0", who, o.beta);
  if (o.beta > 0 && b.ref_logp.empty()) fail("{}: beta {} > 0 needs the reference log-probs", who, o.beta);
  if (!b.ref_logp.empty()) check_input_size(who, "ref_logp", b.ref_logp, b.n * b.t);
  const size_t nt = static_cast<size_t>(b.n * b.t);
  std::vector<float> adv(nt);
  for (size_t i = 0; i < nt; ++i) adv[i] = b.advantages[i / static_cast<size_t>(b.t)];
  std::vector<float> own;
  if (b.old_logp.empty()) {
    const float* v = lp.value().data<float>();
    own.assign(v, v + nt);
  }
  PolicyTerm pg = clipped_policy_loss(lp, b.old_logp.empty() ? std::span<const float>(own) : b.old_logp, adv, b.mask,
                                      b.n, b.t, o.clip);
  ag::Var per_token = pg.per_token;
  GrpoLoss res;
  if (!b.ref_logp.empty()) {
    const ag::Var kl = kl_estimate(lp, b.ref_logp, KlEstimator::K3);
    const float* k = kl.value().data<float>();
    double sum = 0, tokens = 0;
    for (size_t i = 0; i < nt; ++i) {
      sum += b.mask[i] * double(k[i]);
      tokens += b.mask[i];
    }
    res.kl_mean = tokens > 0 ? sum / tokens : 0.0;
    if (o.beta > 0) per_token = ag::add(per_token, ag::scale(kl, o.beta));
  }
  res.loss = normalize_loss(per_token, b.mask, b.n, b.t, o.norm, o.scale);
  res.metrics = pg.metrics;
  return res;
}

}  // namespace baimo::train
