// baimo debug-rl-loss --in FILE --out FILE --algo ppo|grpo [options]
// Hidden test command: the RL losses (train/rl_advantages.h, rl_kl.h, rl_loss.h) on per-token
// inputs from a safetensors file, writing the values and the gradients for
// tests/reference/test_rl_loss_vs_torch.py. Input tensors (F32; N responses x T token slots):
//   mask, logp, old_logp (N, T); ref_logp (N, T) (PPO with --kl-coef != 0, GRPO with --beta > 0,
//   optional otherwise);
//   PPO: values, old_values (N, T), scores (N);   GRPO: rewards (N), or advantages (N) given as they
//   are (a micro-batch cut out of a larger batch's groups).
// PPO (TRL PPOTrainer's order): kl = kl_values(old_logp, ref_logp, --kl-estimator) on the mask ->
//   token rewards (score on the last token, -kl_coef * kl on every) -> GAE over old_values (--gamma,
//   --lam) -> advantages whitened (--whiten; --whiten-keep-mean adds the mean back) -> ppo_loss.
//   Writes loss, policy_loss, value_loss (1), kl, token_rewards, advantages, returns (N, T),
//   metrics (6: low_clip, high_clip, region_clip, ratio_mean, value_clip_frac, tokens),
//   grad_logp, grad_values (N, T).
// GRPO: group_advantages(rewards, --group-size, !--no-scale-rewards) -> grpo_loss (--beta; --no-old:
//   old log-probs = logp's own values). Writes loss (1), advantages (N), metrics (6: low_clip,
//   high_clip, region_clip, ratio_mean, kl_mean, tokens), frac_zero_std (1, not with advantages
//   given), grad_logp (N, T).
// Both: --eps-low, --eps-high, --dual-clip, --norm grpo|dapo|dr_grpo, --max-completion-length,
//   --global-responses, --global-tokens (LossScale).
#include <string>

#include "baimo/autograd/tape.h"
#include "baimo/cli/command.h"
#include "baimo/io/safetensors.h"
#include "baimo/train/rl_advantages.h"
#include "baimo/train/rl_kl.h"
#include "baimo/train/rl_loss.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

struct RlArgs {
  std::string in, out, algo = "grpo", norm, kl_estimator = "k1";
  float eps_low = 0.2f, eps_high = 0.2f, dual_clip = 0.f;
  int64_t max_completion_length = 0, global_responses = 0;
  double global_tokens = 0;
  float kl_coef = 0.f, gamma = 1.f, lam = 0.95f, value_clip = 0.2f, vf_coef = 0.1f, beta = 0.f;
  bool whiten = false, whiten_keep_mean = false, no_scale_rewards = false, no_old = false;
  int64_t group_size = 2;
};

std::vector<float> read(const SafetensorsFile& f, const std::string& name, const std::vector<int64_t>& shape) {
  std::vector<float> v(static_cast<size_t>(shape.size() == 1 ? shape[0] : shape[0] * shape[1]));
  f->read_f32_checked(name, shape, v);
  return v;
}

std::vector<float> grad_of(const ag::Var& v) {
  const Tensor g = v.grad();
  return {g.data<float>(), g.data<float>() + g.numel()};
}

void run_rl_loss(const RlArgs& a) {
  if (a.algo != "ppo" && a.algo != "grpo") fail("--algo {}: expected ppo or grpo", a.algo);
  const bool ppo = a.algo == "ppo";
  SafetensorsFile f(a.in);
  const SafetensorInfo& mi = f->get("mask");
  if (mi.shape.size() != 2) fail("{}: tensor \"mask\" must be (responses, tokens)", a.in);
  const int64_t n = mi.shape[0], t = mi.shape[1];
  const std::vector<int64_t> nt{n, t}, nn{n};
  const std::vector<float> mask = read(f, "mask", nt), old = read(f, "old_logp", nt);
  const std::vector<float> ref = f->find("ref_logp") ? read(f, "ref_logp", nt) : std::vector<float>{};
  ag::Var logp = ag::Var::leaf(Tensor::from_data({n, t}, read(f, "logp", nt)), true);
  train::ClipOptions clip{a.eps_low, a.eps_high, a.dual_clip};
  train::LossScale scale{a.global_responses, a.global_tokens, a.max_completion_length};
  train::LossNorm norm = train::parse_loss_norm(a.norm.empty() ? (ppo ? "dapo" : "grpo") : a.norm);
  std::vector<SafetensorWrite> w;
  const auto put = [&](const char* name, std::vector<int64_t> shape, const std::vector<float>& v) {
    w.push_back({name, std::move(shape), v});
  };
  // the written vectors must outlive save_safetensors: kept here
  std::vector<float> loss(1), policy_loss(1), value_loss(1), kl, rewards, adv, returns, metrics, frac(1), g_lp, g_v;
  if (ppo) {
    if (a.kl_coef != 0 && ref.empty()) fail("{}: --kl-coef {} needs tensor \"ref_logp\"", a.in, a.kl_coef);
    if (!ref.empty()) kl = train::kl_values(old, ref, train::parse_kl_estimator(a.kl_estimator), mask);
    const std::vector<float> old_values = read(f, "old_values", nt);
    rewards = train::ppo_token_rewards(read(f, "scores", nn), kl, mask, n, t, a.kl_coef);
    train::Gae g = train::gae(rewards, old_values, mask, n, t, a.gamma, a.lam);
    adv = a.whiten ? train::masked_whiten(g.advantages, mask, !a.whiten_keep_mean) : g.advantages;
    returns = g.returns;
    ag::Var values = ag::Var::leaf(Tensor::from_data({n, t}, read(f, "values", nt)), true);
    train::PpoOptions o;
    o.clip = clip;
    o.value_clip = a.value_clip;
    o.vf_coef = a.vf_coef;
    o.norm = norm;
    o.scale = scale;
    const train::PpoLoss r = train::ppo_loss({n, t, logp, values, old, adv, old_values, returns, mask}, o);
    ag::backward(r.loss);
    loss[0] = r.loss.item();
    policy_loss[0] = r.policy_loss.item();
    value_loss[0] = r.value_loss.item();
    const train::ClipMetrics& m = r.metrics;
    metrics = {float(m.low_clip), float(m.high_clip), float(m.region_clip), float(m.ratio_mean),
               float(r.value_clip_frac), float(m.tokens)};
    g_lp = grad_of(logp);
    g_v = grad_of(values);
    if (kl.empty()) kl.assign(static_cast<size_t>(n * t), 0.f);
    put("loss", {1}, loss);
    put("policy_loss", {1}, policy_loss);
    put("value_loss", {1}, value_loss);
    put("kl", nt, kl);
    put("token_rewards", nt, rewards);
    put("advantages", nt, adv);
    put("returns", nt, returns);
    put("grad_values", nt, g_v);
  } else {
    const bool given = f->find("advantages") != nullptr;
    if (given) {
      adv = read(f, "advantages", nn);
    } else {
      const train::GroupAdvantages ga =
          train::group_advantages(read(f, "rewards", nn), a.group_size, !a.no_scale_rewards);
      adv = ga.advantages;
      frac[0] = static_cast<float>(ga.frac_zero_std);
    }
    train::GrpoOptions o;
    o.clip = clip;
    o.beta = a.beta;
    o.norm = norm;
    o.scale = scale;
    train::GrpoBatch b{n, t, logp, a.no_old ? std::vector<float>{} : old, ref, adv, mask};
    const train::GrpoLoss r = train::grpo_loss(b, o);
    ag::backward(r.loss);
    loss[0] = r.loss.item();
    const train::ClipMetrics& m = r.metrics;
    metrics = {float(m.low_clip), float(m.high_clip), float(m.region_clip), float(m.ratio_mean), float(r.kl_mean),
               float(m.tokens)};
    g_lp = grad_of(logp);
    put("loss", {1}, loss);
    put("advantages", nn, adv);
    if (!given) put("frac_zero_std", {1}, frac);
  }
  put("metrics", {6}, metrics);
  put("grad_logp", nt, g_lp);
  save_safetensors(a.out, w);
  ag::reset_step();
}

}  // namespace

BAIMO_COMMAND(991, [](CLI::App& root) {
  auto a = std::make_shared<RlArgs>();
  auto* sub = root.add_subcommand("debug-rl-loss", "Test: PPO / GRPO losses and gradients on per-token inputs");
  sub->group("");  // hidden from --help
  sub->add_option("--in", a->in, "safetensors file of inputs (see the source's header)")->required();
  sub->add_option("--out", a->out, "safetensors file of outputs and gradients")->required();
  sub->add_option("--algo", a->algo, "ppo or grpo");
  sub->add_option("--norm", a->norm, "Loss normalisation grpo, dapo or dr_grpo (default: dapo for ppo, grpo for grpo)");
  sub->add_option("--eps-low", a->eps_low, "Lower clip range");
  sub->add_option("--eps-high", a->eps_high, "Upper clip range");
  sub->add_option("--dual-clip", a->dual_clip, "Dual clip c > 1 (0: off)");
  sub->add_option("--max-completion-length", a->max_completion_length, "dr_grpo's constant L");
  sub->add_option("--global-responses", a->global_responses, "Responses of the whole batch (0: this one's)");
  sub->add_option("--global-tokens", a->global_tokens, "Response tokens of the whole batch (0: this one's)");
  sub->add_option("--kl-coef", a->kl_coef, "PPO: KL penalty coefficient in the rewards");
  sub->add_option("--kl-estimator", a->kl_estimator, "PPO: k1, k2 or k3 for the reward penalty");
  sub->add_option("--gamma", a->gamma, "PPO: discount");
  sub->add_option("--lam", a->lam, "PPO: GAE lambda");
  sub->add_option("--value-clip", a->value_clip, "PPO: value clip range");
  sub->add_option("--vf-coef", a->vf_coef, "PPO: value loss coefficient");
  sub->add_flag("--whiten", a->whiten, "PPO: whiten the advantages");
  sub->add_flag("--whiten-keep-mean", a->whiten_keep_mean, "PPO: whitening adds the mean back");
  sub->add_option("--group-size", a->group_size, "GRPO: samples per prompt");
  sub->add_option("--beta", a->beta, "GRPO: weight of the k3 KL to the reference");
  sub->add_flag("--no-scale-rewards", a->no_scale_rewards, "GRPO: advantages not divided by the group std");
  sub->add_flag("--no-old", a->no_old, "GRPO: old log-probs = logp's own values");
  sub->callback([a] { run_rl_loss(*a); });
});

}  // namespace baimo::cli
