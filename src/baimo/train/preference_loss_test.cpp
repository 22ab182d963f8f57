// preference_loss: every type's value and rewards against the formulas of preference_loss.h in
// double precision, gradients against finite differences, micro-batch splitting exact (mean of
// halves), the errors and the name parsing; bradley_terry_loss likewise.
#include "baimo/train/preference_loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace preference_loss_test {
using namespace baimo;
using namespace baimo::train;

struct Pairs {  // 3 pairs of sums of answer log-probs (averages in (-2.5, -0.2): ORPO needs < 0)
  std::vector<float> pc{-3.1f, -8.4f, -1.2f}, pr{-5.6f, -2.2f, -4.5f};
  std::vector<float> nc{3, 7, 2}, nr{4, 2, 5};
  std::vector<float> rc{-3.5f, -7.9f, -1.5f}, rr{-5.0f, -2.9f, -4.0f};
};

ag::Var leaf(const std::vector<float>& v) {
  return ag::Var::leaf(Tensor::from_data({static_cast<int64_t>(v.size())}, v), true);
}

PreferenceBatch batch_of(const Pairs& p, const ag::Var& c, const ag::Var& r, PreferenceLossType t) {
  PreferenceBatch b{c, r, p.nc, p.nr, {}, {}};
  if (needs_reference(t)) {
    b.ref_chosen = p.rc;
    b.ref_rejected = p.rr;
  }
  return b;
}

double logsig(double x) { return std::min(x, 0.0) - std::log1p(std::exp(-std::fabs(x))); }

// The header's per-pair loss and rewards in double.
struct Want {
  double loss = 0;
  std::vector<double> rc, rr;
};
Want expected(const Pairs& p, const PreferenceLossOptions& o) {
  Want w;
  const double beta = o.beta, eps = o.label_smoothing;
  const size_t B = p.pc.size();
  for (size_t i = 0; i < B; ++i) {
    const double ac = double(p.pc[i]) / p.nc[i], ar = double(p.pr[i]) / p.nr[i];
    const double h = (double(p.pc[i]) - p.pr[i]) - (double(p.rc[i]) - p.rr[i]);
    const double ha = (ac - ar) - (double(p.rc[i]) / p.nc[i] - double(p.rr[i]) / p.nr[i]);
    double l = 0;
    switch (o.type) {
      case PreferenceLossType::Sigmoid:
        l = -(1 - eps) * logsig(beta * h) - eps * logsig(-beta * h);
        w.rc.push_back(beta * (p.pc[i] - double(p.rc[i])));
        w.rr.push_back(beta * (p.pr[i] - double(p.rr[i])));
        break;
      case PreferenceLossType::Ipo:
        l = (ha - 1 / (2 * beta)) * (ha - 1 / (2 * beta));
        w.rc.push_back(beta * (ac - double(p.rc[i]) / p.nc[i]));
        w.rr.push_back(beta * (ar - double(p.rr[i]) / p.nr[i]));
        break;
      case PreferenceLossType::Hinge:
        l = std::max(0.0, 1 - beta * h);
        w.rc.push_back(beta * (p.pc[i] - double(p.rc[i])));
        w.rr.push_back(beta * (p.pr[i] - double(p.rr[i])));
        break;
      case PreferenceLossType::Simpo: {
        const double z = beta * (ac - ar) - o.simpo_gamma;
        l = -(1 - eps) * logsig(z) - eps * logsig(-z);
        w.rc.push_back(beta * ac);
        w.rr.push_back(beta * ar);
        break;
      }
      case PreferenceLossType::Orpo: {
        const double lo = (ac - ar) - (std::log1p(-std::exp(ac)) - std::log1p(-std::exp(ar)));
        l = -ac - beta * logsig(lo);
        w.rc.push_back(beta * ac);
        w.rr.push_back(beta * ar);
        break;
      }
    }
    l += o.rpo_alpha * -ac;  // RPO: the chosen answer's mean token NLL
    w.loss += l / B;
  }
  return w;
}

std::vector<PreferenceLossOptions> all_options() {
  std::vector<PreferenceLossOptions> v;
  v.push_back({PreferenceLossType::Sigmoid, 0.1f, 0.f, 0.5f});
  v.push_back({PreferenceLossType::Sigmoid, 0.5f, 0.2f, 0.5f});  // cDPO
  v.push_back({PreferenceLossType::Ipo, 0.3f, 0.f, 0.5f});
  v.push_back({PreferenceLossType::Hinge, 1.2f, 0.f, 0.5f});     // 1 - beta h: < 0 for pair 0, > 0 for 1, 2
  v.push_back({PreferenceLossType::Simpo, 2.f, 0.f, 0.7f});
  v.push_back({PreferenceLossType::Simpo, 2.f, 0.1f, 0.7f});
  v.push_back({PreferenceLossType::Orpo, 0.25f, 0.f, 0.5f});
  v.push_back({PreferenceLossType::Sigmoid, 0.1f, 0.f, 0.5f, 0.7f});  // RPO
  v.push_back({PreferenceLossType::Ipo, 0.3f, 0.f, 0.5f, 1.5f});
  return v;
}

class PreferenceLoss : public ::testing::Test {
 protected:
  void TearDown() override { ag::reset_step(); }
};

TEST_F(PreferenceLoss, ValuesAndRewardsMatchTheFormulas) {
  const Pairs p;
  for (const PreferenceLossOptions& o : all_options()) {
    SCOPED_TRACE(::testing::Message() << preference_loss_name(o.type) << " beta " << o.beta << " eps "
                                      << o.label_smoothing << " rpo " << o.rpo_alpha);
    const Want w = expected(p, o);
    const PreferenceLossResult r = preference_loss(batch_of(p, leaf(p.pc), leaf(p.pr), o.type), o);
    ASSERT_EQ(r.loss.numel(), 1);
    EXPECT_NEAR(r.loss.item(), w.loss, 1e-5 * std::max(1.0, std::fabs(w.loss)));
    ASSERT_EQ(r.chosen_rewards.size(), 3u);
    ASSERT_EQ(r.rejected_rewards.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(r.chosen_rewards[i], w.rc[i], 1e-5);
      EXPECT_NEAR(r.rejected_rewards[i], w.rr[i], 1e-5);
    }
    ag::reset_step();
  }
}

TEST_F(PreferenceLoss, GradientsMatchFiniteDifferences) {
  const Pairs p;
  for (const PreferenceLossOptions& o : all_options()) {
    SCOPED_TRACE(preference_loss_name(o.type));
    ag::Var c = leaf(p.pc), r = leaf(p.pr);
    ag::GradCheckResult g = ag::gradcheck(
        [&](const std::vector<ag::Var>& in) { return preference_loss(batch_of(p, in[0], in[1], o.type), o).loss; },
        {c, r});
    EXPECT_TRUE(g.ok) << g.first_failure;
    EXPECT_EQ(g.checked, 6);
  }
}

TEST_F(PreferenceLoss, MicroBatchSplittingIsExact) {
  // The mean over 3 pairs = (2 * mean over pairs 0..1 + 1 * mean over pair 2) / 3, values and gradients.
  const Pairs p;
  for (const PreferenceLossOptions& o : all_options()) {
    SCOPED_TRACE(preference_loss_name(o.type));
    ag::Var c = leaf(p.pc), r = leaf(p.pr);
    const float whole = preference_loss(batch_of(p, c, r, o.type), o).loss.item();
    double parts = 0;
    for (const auto& [b0, n] : {std::pair<size_t, size_t>{0, 2}, std::pair<size_t, size_t>{2, 1}}) {
      Pairs q;
      for (auto* v : {&q.pc, &q.pr, &q.nc, &q.nr, &q.rc, &q.rr})
        *v = std::vector<float>(v->begin() + static_cast<long>(b0), v->begin() + static_cast<long>(b0 + n));
      parts += n * preference_loss(batch_of(q, leaf(q.pc), leaf(q.pr), o.type), o).loss.item() / 3.0;
    }
    EXPECT_NEAR(whole, parts, 1e-6 * std::max(1.0, std::fabs(parts)));
    ag::reset_step();
  }
}

TEST_F(PreferenceLoss, NamesAndErrors) {
  for (const char* n : {"sigmoid", "ipo", "hinge", "simpo", "orpo"})
    EXPECT_STREQ(preference_loss_name(parse_preference_loss(n)), n);
  try {
    parse_preference_loss("dpo");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sigmoid, ipo, hinge, simpo, orpo"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(needs_reference(PreferenceLossType::Sigmoid));
  EXPECT_TRUE(needs_reference(PreferenceLossType::Ipo));
  EXPECT_TRUE(needs_reference(PreferenceLossType::Hinge));
  EXPECT_FALSE(needs_reference(PreferenceLossType::Simpo));
  EXPECT_FALSE(needs_reference(PreferenceLossType::Orpo));

  const Pairs p;
  const ag::Var c = leaf(p.pc), r = leaf(p.pr);
  PreferenceLossOptions o;
  PreferenceBatch b = batch_of(p, c, r, o.type);
  b.ref_chosen.clear();  // the reference sums missing
  EXPECT_THROW(preference_loss(b, o), Error);
  b = batch_of(p, c, leaf({1.f, 2.f}), o.type);
  EXPECT_THROW(preference_loss(b, o), Error);  // sizes differ
  b = batch_of(p, c, r, o.type);
  b.chosen_tokens[1] = 0;
  EXPECT_THROW(preference_loss(b, o), Error);  // no answer tokens
  b = batch_of(p, c, r, o.type);
  o.beta = 0;
  EXPECT_THROW(preference_loss(b, o), Error);
  o.beta = 0.1f;
  o.label_smoothing = 0.6f;
  EXPECT_THROW(preference_loss(b, o), Error);
  o.label_smoothing = 0.1f;
  o.type = PreferenceLossType::Ipo;
  EXPECT_THROW(preference_loss(b, o), Error);  // smoothing is for sigmoid and simpo only
  o.label_smoothing = 0;
  o.rpo_alpha = -1;
  EXPECT_THROW(preference_loss(b, o), Error);
  o.rpo_alpha = 0;
  o.type = PreferenceLossType::Orpo;
  b.ref_chosen.clear();  // not needed: fine
  EXPECT_NO_THROW(preference_loss(b, o));
}

TEST_F(PreferenceLoss, BradleyTerry) {
  const std::vector<float> a{0.3f, -1.2f, 2.f, 0.1f}, b{-0.4f, 0.5f, 1.f, 0.1f};
  for (float coef : {0.f, 0.01f}) {
    double want = 0, center = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      want -= logsig(double(a[i]) - b[i]) / a.size();
      center += (double(a[i]) + b[i]) * (double(a[i]) + b[i]) / a.size();
    }
    want += coef * center;
    EXPECT_NEAR(bradley_terry_loss(leaf(a), leaf(b), coef).item(), want, 1e-6);
    ag::reset_step();
    ag::Var rc = ag::Var::leaf(Tensor::from_data({4, 1}, a), true), rr = leaf(b);  // (B, 1) as a head gives
    ag::GradCheckResult g = ag::gradcheck(
        [&](const std::vector<ag::Var>& in) { return bradley_terry_loss(in[0], in[1], coef); }, {rc, rr});
    EXPECT_TRUE(g.ok) << g.first_failure;
  }
  EXPECT_THROW(bradley_terry_loss(leaf(a), leaf({1.f}), 0), Error);
}

}  // namespace preference_loss_test
