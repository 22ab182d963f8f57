// Preference losses: each per-pair formula of preference_loss.h written with ag ops over (B) Vars;
// the reference sums and the token counts enter as constant (B) Vars.
#include "baimo/train/preference_loss.h"

#include <cmath>

#include "baimo/autograd/ops.h"
#include "baimo/util/error.h"

namespace baimo::train {

namespace {

constexpr const char* kPreferenceLossNames[] = {"sigmoid", "ipo", "hinge", "simpo", "orpo"};

ag::Var constant(const std::vector<float>& v) {
  return ag::Var::constant(Tensor::from_data({static_cast<int64_t>(v.size())}, v));
}

// -(1 - eps) logsig(z) - eps logsig(-z) per element (the second term left out when eps == 0).
ag::Var smoothed_logsig_loss(const ag::Var& z, float eps) {
  ag::Var l = ag::scale(ag::log_sigmoid(z), -(1.f - eps));
  return eps == 0.f ? l : ag::add(l, ag::scale(ag::log_sigmoid(ag::neg(z)), -eps));
}

void check(const PreferenceBatch& b, const PreferenceLossOptions& o) {
  const char* name = preference_loss_name(o.type);
  if (!b.chosen_logps.defined() || !b.rejected_logps.defined())
    fail("preference loss {}: chosen and rejected log-probs must be given", name);
  const int64_t B = b.chosen_logps.numel();
  if (B < 1 || b.rejected_logps.numel() != B)
    fail("preference loss {}: {} chosen and {} rejected log-probs (one each per pair, at least one pair)", name, B,
         b.rejected_logps.numel());
  const auto sized = [&](const std::vector<float>& v, const char* what) {
    if (static_cast<int64_t>(v.size()) != B)
      fail("preference loss {}: {} has {} values for {} pairs", name, what, v.size(), B);
  };
  sized(b.chosen_tokens, "chosen_tokens");
  sized(b.rejected_tokens, "rejected_tokens");
  for (int64_t i = 0; i < B; ++i)
    if (!(b.chosen_tokens[static_cast<size_t>(i)] > 0) || !(b.rejected_tokens[static_cast<size_t>(i)] > 0))
      fail("preference loss {}: pair {} has {} chosen and {} rejected answer tokens (both must be > 0)", name, i,
           b.chosen_tokens[static_cast<size_t>(i)], b.rejected_tokens[static_cast<size_t>(i)]);
  if (needs_reference(o.type)) {
    sized(b.ref_chosen, "ref_chosen");
    sized(b.ref_rejected, "ref_rejected");
  }
  if (!(o.beta > 0)) fail("preference loss {}: beta {} must be > 0", name, o.beta);
  if (!(o.label_smoothing >= 0 && o.label_smoothing <= 0.5f))
    fail("preference loss {}: label_smoothing {} must be in [0, 0.5]", name, o.label_smoothing);
  if (o.label_smoothing != 0 && o.type != PreferenceLossType::Sigmoid && o.type != PreferenceLossType::Simpo)
    fail("preference loss {}: label_smoothing applies to sigmoid and simpo only", name);
  if (!(o.rpo_alpha >= 0)) fail("preference loss {}: rpo_alpha {} must be >= 0", name, o.rpo_alpha);
}

std::vector<float> values(const ag::Var& v) {
  const float* p = v.value().data<float>();
  return {p, p + v.numel()};
}

}  // namespace

PreferenceLossType parse_preference_loss(const std::string& name) {
  for (int i = 0; i < 5; ++i)
    if (name == kPreferenceLossNames[i]) return static_cast<PreferenceLossType>(i);
  fail("unknown preference loss \"{}\": expected one of sigmoid, ipo, hinge, simpo, orpo", name);
}

const char* preference_loss_name(PreferenceLossType type) { return kPreferenceLossNames[static_cast<int>(type)]; }

bool needs_reference(PreferenceLossType type) {
  return type != PreferenceLossType::Simpo && type != PreferenceLossType::Orpo;
}

PreferenceLossResult preference_loss(const PreferenceBatch& b, const PreferenceLossOptions& o) {
  check(b, o);
  const size_t B = static_cast<size_t>(b.chosen_logps.numel());
  const Shape s{static_cast<int64_t>(B)};
  const ag::Var pc = ag::reshape(b.chosen_logps, s), pr = ag::reshape(b.rejected_logps, s);
  const float beta = o.beta;
  const bool average = o.type == PreferenceLossType::Ipo || o.type == PreferenceLossType::Simpo ||
                       o.type == PreferenceLossType::Orpo;
  // The log-probs the loss sees: sums, or averages over the answer tokens.
  std::vector<float> inv_c(B), inv_r(B);
  for (size_t i = 0; i < B; ++i) {
    inv_c[i] = average ? 1.f / b.chosen_tokens[i] : 1.f;
    inv_r[i] = average ? 1.f / b.rejected_tokens[i] : 1.f;
  }
  const ag::Var c = average ? ag::mul(pc, constant(inv_c)) : pc;
  const ag::Var r = average ? ag::mul(pr, constant(inv_r)) : pr;
  PreferenceLossResult res;
  res.chosen_rewards = values(c);
  res.rejected_rewards = values(r);
  ag::Var margin = ag::sub(c, r);  // (B)
  if (needs_reference(o.type)) {
    // h = margin - (ref+ - ref-) (on the same sums / averages); rewards beta (policy - reference)
    std::vector<float> ref_margin(B);
    for (size_t i = 0; i < B; ++i) {
      const float rc = b.ref_chosen[i] * inv_c[i], rr = b.ref_rejected[i] * inv_r[i];
      ref_margin[i] = rc - rr;
      res.chosen_rewards[i] -= rc;
      res.rejected_rewards[i] -= rr;
    }
    margin = ag::sub(margin, constant(ref_margin));
  }
  for (float& x : res.chosen_rewards) x *= beta;
  for (float& x : res.rejected_rewards) x *= beta;
  ag::Var losses;  // (B)
  switch (o.type) {
    case PreferenceLossType::Sigmoid: losses = smoothed_logsig_loss(ag::scale(margin, beta), o.label_smoothing); break;
    case PreferenceLossType::Ipo: {
      const ag::Var d = ag::add_scalar(margin, -1.f / (2.f * beta));
      losses = ag::mul(d, d);
      break;
    }
    case PreferenceLossType::Hinge: losses = ag::relu(ag::add_scalar(ag::scale(margin, -beta), 1.f)); break;
    case PreferenceLossType::Simpo:
      losses = smoothed_logsig_loss(ag::add_scalar(ag::scale(margin, beta), -o.simpo_gamma), o.label_smoothing);
      break;
    case PreferenceLossType::Orpo: {
      const ag::Var log_odds = ag::sub(margin, ag::sub(ag::log1m_exp(c), ag::log1m_exp(r)));
      losses = ag::sub(ag::neg(c), ag::scale(ag::log_sigmoid(log_odds), beta));
      break;
    }
  }
  if (o.rpo_alpha > 0) {  // + alpha * the chosen answer's mean token NLL
    std::vector<float> per_token(B);
    for (size_t i = 0; i < B; ++i) per_token[i] = -o.rpo_alpha / b.chosen_tokens[i];
    losses = ag::add(losses, ag::mul(pc, constant(per_token)));
  }
  res.loss = ag::mean(losses);
  return res;
}

ag::Var bradley_terry_loss(const ag::Var& r_chosen, const ag::Var& r_rejected, float center_coef) {
  if (!r_chosen.defined() || !r_rejected.defined()) fail("bradley_terry_loss: both rewards must be given");
  const int64_t B = r_chosen.numel();
  if (B < 1 || r_rejected.numel() != B)
    fail("bradley_terry_loss: {} chosen and {} rejected rewards (one each per pair, at least one pair)", B,
         r_rejected.numel());
  const ag::Var rc = ag::reshape(r_chosen, {B}), rr = ag::reshape(r_rejected, {B});
  ag::Var loss = ag::neg(ag::mean(ag::log_sigmoid(ag::sub(rc, rr))));
  if (center_coef != 0) {
    const ag::Var s = ag::add(rc, rr);
    loss = ag::add(loss, ag::scale(ag::mean(ag::mul(s, s)), center_coef));
  }
  return loss;
}

}  // namespace baimo::train
