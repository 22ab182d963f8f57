// rl_loss: the per-token PPO / GRPO terms and every normalisation against the formulas of rl_loss.h
// in double on a hand-made batch whose ratios fall in every clip region, the metrics counted by
// hand, gradients against finite differences, micro-batch splitting exact (values and gradients),
// names and errors.
#include "baimo/train/rl_loss.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace rl_loss_test {
using namespace baimo;
using namespace baimo::train;

constexpr int64_t N = 3, T = 4;

// 3 responses of 4, 3 and 2 tokens. d = logp - old puts the ratios (1, 1.35, 0.67, 1.105 | 0.905,
// 1.284, 1.65 | 1.82, 0.50) in every region of eps 0.2 (no ratio within 4% of a clip bound).
struct Batch {
  int64_t n = N;
  std::vector<float> mask{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0};
  std::vector<float> logp{-1.2f, -0.7f, -2.1f, -0.4f, -0.9f, -1.6f, -0.3f, 0.f, -2.4f, -0.6f, 0.f, 0.f};
  std::vector<float> d{0.f, 0.3f, -0.4f, 0.1f, -0.1f, 0.25f, 0.5f, 0.f, 0.6f, -0.7f, 0.f, 0.f};
  std::vector<float> adv{0.7f, 1.3f, -0.9f, 0.4f, -1.5f, 0.6f, -0.8f, 0.f, 1.1f, -0.5f, 0.f, 0.f};
  std::vector<float> ref_off{0.2f, -0.5f, 0.f, 0.7f, -0.9f, 0.1f, 0.3f, 0.f, -0.4f, 0.6f, 0.f, 0.f};
  std::vector<float> group_adv{0.8f, -1.1f, 0.5f};
  std::vector<float> values{0.5f, 0.1f, -0.3f, 0.9f, 1.2f, -0.7f, 0.2f, 0.f, 0.4f, 0.35f, 0.f, 0.f};
  std::vector<float> dv{0.05f, 0.3f, -0.5f, 0.1f, -0.25f, 0.12f, 0.6f, 0.f, -0.05f, 0.28f, 0.f, 0.f};
  std::vector<float> returns{0.9f, -0.2f, 0.4f, 1.1f, 0.3f, -0.2f, 0.9f, 0.f, 0.1f, 1.f, 0.f, 0.f};

  std::vector<float> old() const {
    std::vector<float> o(logp.size());
    for (size_t i = 0; i < o.size(); ++i) o[i] = logp[i] - d[i];
    return o;
  }
  std::vector<float> ref() const {
    std::vector<float> o(logp.size());
    for (size_t i = 0; i < o.size(); ++i) o[i] = logp[i] + ref_off[i];
    return o;
  }
  std::vector<float> old_values() const {
    std::vector<float> o(values.size());
    for (size_t i = 0; i < o.size(); ++i) o[i] = values[i] - dv[i];
    return o;
  }
  // Rows [r0, r0 + rows) of every array.
  Batch rows(size_t r0, size_t rows) const {
    Batch b = *this;
    b.n = static_cast<int64_t>(rows);
    for (auto* v : {&b.mask, &b.logp, &b.d, &b.adv, &b.ref_off, &b.values, &b.dv, &b.returns})
      *v = std::vector<float>(v->begin() + long(r0 * T), v->begin() + long((r0 + rows) * T));
    b.group_adv = std::vector<float>(group_adv.begin() + long(r0), group_adv.begin() + long(r0 + rows));
    return b;
  }
};

ag::Var leaf(const std::vector<float>& v, int64_t n) { return ag::Var::leaf(Tensor::from_data({n, T}, v), true); }
ag::Var cst(const std::vector<float>& v, int64_t n) { return ag::Var::constant(Tensor::from_data({n, T}, v)); }

// ---- the header's formulas in double ----
double policy_term(double lp, double old, double a, const ClipOptions& o) {
  const double r = std::exp(lp - old), c = std::clamp(r, 1.0 - o.eps_low, 1.0 + o.eps_high);
  double l = std::max(-a * r, -a * c);
  if (o.dual_clip > 0 && a < 0) l = std::min(l, -o.dual_clip * a);
  return l;
}
double k3(double lp, double ref) { return std::exp(ref - lp) - (ref - lp) - 1; }
double value_term(double v, double old, double ret, double e) {
  const double c = std::clamp(v, old - e, old + e);
  return 0.5 * std::max((v - ret) * (v - ret), (c - ret) * (c - ret));
}
// Normalises per-token values l (N, T) of b as rl_loss.h says, with this batch's own counts.
double normalised(const Batch& b, const std::vector<double>& l, LossNorm norm, int64_t L) {
  double total = 0, tokens = 0;
  for (float m : b.mask) tokens += m;
  for (size_t i = 0; i < size_t(b.n); ++i) {
    double s = 0, ni = 0;
    for (size_t t = 0; t < T; ++t) {
      s += b.mask[i * T + t] * l[i * T + t];
      ni += b.mask[i * T + t];
    }
    switch (norm) {
      case LossNorm::Grpo: total += s / std::max(ni, 1.0) / double(b.n); break;
      case LossNorm::Dapo: total += s / tokens; break;
      case LossNorm::DrGrpo: total += s / (double(b.n) * double(L)); break;
    }
  }
  return total;
}

constexpr LossNorm kNorms[] = {LossNorm::Grpo, LossNorm::Dapo, LossNorm::DrGrpo};
constexpr int64_t kMaxLen = 6;

LossScale scale_of(int64_t global_n = 0, double global_tokens = 0) { return {global_n, global_tokens, kMaxLen}; }

GrpoBatch grpo_batch(const Batch& b, const ag::Var& logp, bool with_ref, bool with_old = true) {
  GrpoBatch g;
  g.n = b.n;
  g.t = T;
  g.logp = logp;
  if (with_old) g.old_logp = b.old();
  if (with_ref) g.ref_logp = b.ref();
  g.advantages = b.group_adv;
  g.mask = b.mask;
  return g;
}

PpoBatch ppo_batch(const Batch& b, const ag::Var& logp, const ag::Var& values) {
  return {b.n, T, logp, values, b.old(), b.adv, b.old_values(), b.returns, b.mask};
}

class RlLoss : public ::testing::Test {
 protected:
  void TearDown() override { ag::reset_step(); }
};

TEST_F(RlLoss, PolicyTermAndMetricsMatchTheFormulas) {
  const Batch b;
  for (const ClipOptions& o : {ClipOptions{0.2f, 0.2f, 0.f}, ClipOptions{0.2f, 0.3f, 0.f},  // DAPO clip-higher
                               ClipOptions{0.2f, 0.2f, 1.5f}}) {                             // dual clip
    SCOPED_TRACE(::testing::Message() << "eps " << o.eps_low << " / " << o.eps_high << " dual " << o.dual_clip);
    const PolicyTerm p = clipped_policy_loss(leaf(b.logp, N), b.old(), b.adv, b.mask, N, T, o);
    ASSERT_EQ(p.per_token.numel(), N * T);
    const std::vector<float> old = b.old();
    for (size_t i = 0; i < size_t(N * T); ++i)
      EXPECT_NEAR(p.per_token.value().data<float>()[i], policy_term(b.logp[i], old[i], b.adv[i], o), 1e-6) << i;
    // by hand: low-clipped 0.67 (A < 0), 0.50 (A < 0); high-clipped 1.35, 1.284, 1.82 (A > 0), of which
    // 1.284 falls inside 1 + 0.3; 1.65 has A < 0 (not clipped high)
    EXPECT_EQ(p.metrics.tokens, 9);
    EXPECT_DOUBLE_EQ(p.metrics.low_clip, 2.0 / 9);
    EXPECT_DOUBLE_EQ(p.metrics.high_clip, (o.eps_high > 0.29f ? 2.0 : 3.0) / 9);
    EXPECT_DOUBLE_EQ(p.metrics.region_clip, p.metrics.low_clip + p.metrics.high_clip);
    double ratio = 0;
    for (size_t i = 0; i < size_t(N * T); ++i) ratio += b.mask[i] * std::exp(double(b.d[i])) / 9;
    EXPECT_NEAR(p.metrics.ratio_mean, ratio, 1e-6);
    ag::reset_step();
  }
  // closed-form spot checks (eps 0.2): ratio 1.35 with A = 1.3 -> -1.2 * 1.3; ratio 0.67 with A = -0.9
  // -> 0.8 * 0.9; ratio 1.65 with A = -0.8: 1.32 unclipped, 1.2 with dual clip 1.5
  const PolicyTerm p = clipped_policy_loss(leaf(b.logp, N), b.old(), b.adv, b.mask, N, T, {0.2f, 0.2f, 1.5f});
  const float* l = p.per_token.value().data<float>();
  EXPECT_NEAR(l[1], -1.2 * 1.3, 1e-6);
  EXPECT_NEAR(l[2], 0.8 * 0.9, 1e-6);
  EXPECT_NEAR(l[6], 1.2, 1e-6);
  EXPECT_NEAR(l[0], -0.7, 1e-6);  // ratio 1: -A
}

TEST_F(RlLoss, ValueTermMatchesTheFormula) {
  const Batch b;
  const std::vector<float> old = b.old_values();
  const ValueTerm v = clipped_value_loss(leaf(b.values, N), old, b.returns, b.mask, N, T, 0.2f);
  int clipped = 0;
  for (size_t i = 0; i < size_t(N * T); ++i) {
    EXPECT_NEAR(v.per_token.value().data<float>()[i], value_term(b.values[i], old[i], b.returns[i], 0.2), 1e-6) << i;
    const double c = std::clamp<double>(b.values[i], old[i] - 0.2, old[i] + 0.2);
    clipped += b.mask[i] != 0 && (c - b.returns[i]) * (c - b.returns[i]) >
                                     (double(b.values[i]) - b.returns[i]) * (double(b.values[i]) - b.returns[i]) + 1e-9;
  }
  EXPECT_GT(clipped, 0);
  EXPECT_NEAR(v.clip_frac, clipped / 9.0, 1e-12);
}

TEST_F(RlLoss, PpoAndGrpoLossesMatchTheFormulas) {
  const Batch b;
  const std::vector<float> old = b.old(), ref = b.ref(), old_v = b.old_values();
  for (LossNorm norm : kNorms) {
    SCOPED_TRACE(loss_norm_name(norm));
    // PPO
    PpoOptions po;
    po.clip = {0.2f, 0.25f, 2.f};
    po.vf_coef = 0.3f;
    po.norm = norm;
    po.scale = scale_of();
    const PpoLoss pl = ppo_loss(ppo_batch(b, leaf(b.logp, N), leaf(b.values, N)), po);
    std::vector<double> lpg, lv;
    for (size_t i = 0; i < size_t(N * T); ++i) {
      lpg.push_back(policy_term(b.logp[i], old[i], b.adv[i], po.clip));
      lv.push_back(value_term(b.values[i], old_v[i], b.returns[i], po.value_clip));
    }
    const double want_pg = normalised(b, lpg, norm, kMaxLen), want_v = normalised(b, lv, norm, kMaxLen);
    EXPECT_NEAR(pl.policy_loss.item(), want_pg, 1e-6);
    EXPECT_NEAR(pl.value_loss.item(), want_v, 1e-6);
    EXPECT_NEAR(pl.loss.item(), want_pg + 0.3 * want_v, 1e-6);
    ag::reset_step();
    // GRPO with and without the KL term, with and without old log-probs
    for (float beta : {0.f, 0.04f}) {
      GrpoOptions go;
      go.beta = beta;
      go.norm = norm;
      go.scale = scale_of();
      const GrpoLoss gl = grpo_loss(grpo_batch(b, leaf(b.logp, N), true), go);
      std::vector<double> l, l_own;
      double kl = 0;
      for (size_t i = 0; i < size_t(N * T); ++i) {
        const double a = b.group_adv[i / T];
        l.push_back(policy_term(b.logp[i], old[i], a, go.clip) + beta * k3(b.logp[i], ref[i]));
        l_own.push_back(-a + beta * k3(b.logp[i], ref[i]));  // ratio 1
        kl += b.mask[i] * k3(b.logp[i], ref[i]) / 9;
      }
      EXPECT_NEAR(gl.loss.item(), normalised(b, l, norm, kMaxLen), 1e-6) << "beta " << beta;
      EXPECT_NEAR(gl.kl_mean, kl, 1e-6);
      const GrpoLoss own = grpo_loss(grpo_batch(b, leaf(b.logp, N), true, false), go);
      EXPECT_NEAR(own.loss.item(), normalised(b, l_own, norm, kMaxLen), 1e-6) << "beta " << beta;
      EXPECT_DOUBLE_EQ(own.metrics.ratio_mean, 1.0);
      EXPECT_EQ(own.metrics.region_clip, 0.0);
      ag::reset_step();
    }
  }
  // grpo's per-response mean weighs short responses' tokens more than dapo does: they differ here
  GrpoOptions go;
  go.scale = scale_of();
  const float grpo = grpo_loss(grpo_batch(b, leaf(b.logp, N), false), go).loss.item();
  go.norm = LossNorm::Dapo;
  EXPECT_GT(std::fabs(grpo - grpo_loss(grpo_batch(b, leaf(b.logp, N), false), go).loss.item()), 1e-3);
}

TEST_F(RlLoss, GradientsMatchFiniteDifferences) {
  const Batch b;
  for (LossNorm norm : kNorms) {
    SCOPED_TRACE(loss_norm_name(norm));
    PpoOptions po;
    po.clip = {0.2f, 0.25f, 1.5f};
    po.vf_coef = 0.5f;
    po.norm = norm;
    po.scale = scale_of();
    ag::GradCheckResult g = ag::gradcheck(
        [&](const std::vector<ag::Var>& in) { return ppo_loss(ppo_batch(b, in[0], in[1]), po).loss; },
        {leaf(b.logp, N), leaf(b.values, N)});
    EXPECT_TRUE(g.ok) << "ppo: " << g.first_failure;
    EXPECT_EQ(g.checked, 2 * N * T);
    for (float beta : {0.f, 0.1f}) {
      GrpoOptions go;
      go.clip = {0.2f, 0.3f, 0.f};
      go.beta = beta;
      go.norm = norm;
      go.scale = scale_of();
      g = ag::gradcheck(
          [&](const std::vector<ag::Var>& in) { return grpo_loss(grpo_batch(b, in[0], true), go).loss; },
          {leaf(b.logp, N)});
      EXPECT_TRUE(g.ok) << "grpo beta " << beta << ": " << g.first_failure;
    }
  }
  // a gradient is zero exactly where the clip holds it: masked slots, the clipped ratios of the batch
  PpoOptions po;
  po.scale = scale_of();
  ag::Var lp = leaf(b.logp, N), v = leaf(b.values, N);
  ag::backward(ppo_loss(ppo_batch(b, lp, v), po).policy_loss);
  const float* gl = lp.grad().data<float>();
  for (size_t i : {1, 2, 5, 7, 8, 9, 10, 11}) EXPECT_EQ(gl[i], 0.f) << i;
  for (size_t i : {0, 3, 4, 6}) EXPECT_NE(gl[i], 0.f) << i;
}

TEST_F(RlLoss, MicroBatchSplittingIsExact) {
  // rows {0, 1} and {2}: with the whole batch's counts in LossScale the parts add up to the whole,
  // and with their own counts the weighted sum (by responses, or tokens for dapo) does.
  const Batch b;
  const Batch parts[] = {b.rows(0, 2), b.rows(2, 1)};
  for (LossNorm norm : kNorms) {
    for (int algo = 0; algo < 3; ++algo) {  // 0: PPO, 1: GRPO, 2: GRPO + beta KL
      SCOPED_TRACE(::testing::Message() << loss_norm_name(norm) << " algo " << algo);
      const auto loss = [&](const Batch& x, const ag::Var& lp, const ag::Var& v, const LossScale& s) {
        if (algo == 0) {
          PpoOptions po;
          po.clip.dual_clip = 2.f;
          po.norm = norm;
          po.scale = s;
          return ppo_loss(ppo_batch(x, lp, v), po).loss;
        }
        GrpoOptions go;
        go.beta = algo == 2 ? 0.05f : 0.f;
        go.norm = norm;
        go.scale = s;
        return grpo_loss(grpo_batch(x, lp, true), go).loss;
      };
      ag::Var lp = leaf(b.logp, N), v = leaf(b.values, N);
      const ag::Var whole = loss(b, lp, v, scale_of());
      ag::backward(whole);
      const float w = whole.item();
      double sum = 0, weighted = 0;
      for (int p = 0; p < 2; ++p) {
        const Batch& x = parts[p];
        ag::Var plp = leaf(x.logp, x.n), pv = leaf(x.values, x.n);
        const ag::Var part = loss(x, plp, pv, scale_of(N, 9));
        ag::backward(part);
        sum += part.item();
        double tokens = 0;
        for (float m : x.mask) tokens += m;
        weighted += loss(x, cst(x.logp, x.n), cst(x.values, x.n), scale_of()).item() *
                    (norm == LossNorm::Dapo ? tokens / 9 : double(x.n) / N);
        const size_t off = p == 0 ? 0 : 2 * T;
        for (size_t i = 0; i < size_t(x.n * T); ++i) {
          EXPECT_NEAR(plp.grad().data<float>()[i], lp.grad().data<float>()[off + i], 1e-7) << "logp " << off + i;
          if (algo == 0) {
            EXPECT_NEAR(pv.grad().data<float>()[i], v.grad().data<float>()[off + i], 1e-7) << "values " << off + i;
          }
        }
      }
      EXPECT_NEAR(sum, w, 1e-6);
      EXPECT_NEAR(weighted, w, 1e-6);
      ag::reset_step();
    }
  }
}

TEST_F(RlLoss, NamesAndErrors) {
  for (const char* n : {"grpo", "dapo", "dr_grpo"}) EXPECT_STREQ(loss_norm_name(parse_loss_norm(n)), n);
  try {
    parse_loss_norm("bnpo");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("grpo, dapo, dr_grpo"), std::string::npos) << e.what();
  }
  const Batch b;
  const ag::Var lp = leaf(b.logp, N), v = leaf(b.values, N);
  const auto throws = [&](const std::function<void()>& f, const char* needle) {
    try {
      f();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::vector<float> old = b.old();
  throws([&] { clipped_policy_loss(lp, std::vector<float>(11), b.adv, b.mask, N, T, {}); }, "old_logp has 11 values");
  throws([&] { clipped_policy_loss(lp, old, b.adv, b.mask, N, 3, {}); }, "mask has 12 values, expected 9");
  throws([&] { clipped_policy_loss(lp, old, b.adv, b.mask, N, T, {1.f, 0.2f, 0.f}); }, "eps_low 1");
  throws([&] { clipped_policy_loss(lp, old, b.adv, b.mask, N, T, {0.2f, -0.1f, 0.f}); }, "eps_high -0.1");
  throws([&] { clipped_policy_loss(lp, old, b.adv, b.mask, N, T, {0.2f, 0.2f, 0.5f}); }, "dual_clip 0.5");
  throws([&] { clipped_value_loss(v, b.old_values(), b.returns, b.mask, N, T, 0.f); }, "value_clip 0");
  PpoBatch pb = ppo_batch(b, lp, ag::Var());
  throws([&] { ppo_loss(pb, {}); }, "values must be given");
  GrpoOptions go;
  go.beta = 0.1f;
  throws([&] { grpo_loss(grpo_batch(b, lp, false), go); }, "needs the reference log-probs");
  go.beta = -1;
  throws([&] { grpo_loss(grpo_batch(b, lp, true), go); }, "beta -1");
  go.beta = 0;
  GrpoBatch gb = grpo_batch(b, lp, true);
  gb.advantages.push_back(0);
  throws([&] { grpo_loss(gb, go); }, "advantages (one per response) has 4 values");
  go.norm = LossNorm::DrGrpo;
  throws([&] { grpo_loss(grpo_batch(b, lp, true), go); }, "max_completion_length >= 1");
  go.scale.max_completion_length = 3;
  throws([&] { grpo_loss(grpo_batch(b, lp, true), go); }, "response 0 has 4 tokens");
  go.scale = scale_of(2);
  throws([&] { grpo_loss(grpo_batch(b, lp, true), go); }, "global_responses 2");
  go.norm = LossNorm::Dapo;
  go.scale = scale_of(0, 8);
  throws([&] { grpo_loss(grpo_batch(b, lp, true), go); }, "global_tokens 8");
  GrpoBatch empty = grpo_batch(b, lp, true);
  empty.mask.assign(12, 0.f);
  go.scale = {};
  throws([&] { grpo_loss(empty, go); }, "without response tokens");
  go.norm = LossNorm::Grpo;  // grpo: empty responses count, contributing 0
  EXPECT_EQ(grpo_loss(empty, go).loss.item(), 0.f);
}

}  // namespace rl_loss_test
