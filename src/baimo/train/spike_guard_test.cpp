#include "baimo/train/spike_guard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "baimo/util/error.h"

namespace baimo::train {
namespace spike_guard_test {

using V = SpikeGuard::Verdict;

// Feeds `n` accepted losses: base, with every `every`-th one replaced by `high`.
void feed(SpikeGuard& g, int n, float base, float high = 0, int every = 0) {
  for (int i = 1; i <= n; ++i) g.accept(every > 0 && i % every == 0 ? high : base * (1.0f + 0.01f * static_cast<float>(i % 5)));
}

TEST(SpikeGuard, AJumpFarAboveASteadyLossIsASpike) {
  SpikeGuard g;
  feed(g, 100, 3.0f);  // a pretraining-like loss: 3.0 .. 3.12
  EXPECT_NEAR(g.mean(), 3.06, 0.05);
  EXPECT_LT(g.stddev(), 0.1);
  EXPECT_EQ(g.check(3.5f, 1.0f), V::Ok);
  EXPECT_EQ(g.check(11.0f, 1.0f), V::Ok);    // below 4 x the mean
  EXPECT_EQ(g.check(13.0f, 1.0f), V::Spike);  // above it, and far outside the spread
  EXPECT_EQ(g.check(std::numeric_limits<float>::quiet_NaN(), 1.0f), V::NonFinite);
  EXPECT_EQ(g.check(3.0f, std::numeric_limits<float>::infinity()), V::NonFinite);
}

TEST(SpikeGuard, ALowLossThatVariesByItsNatureIsNotASpike) {
  // A converging reward model: most batches ~0.02, one in ten 0.3 (a hard pair). A 0.3 batch is over 4
  // times the mean but inside the spread; a 3.0 batch is a spike.
  SpikeGuard g;
  feed(g, 200, 0.02f, 0.3f, 10);
  EXPECT_GT(0.3, 4.0 * g.mean());
  EXPECT_EQ(g.check(0.3f, 1.0f), V::Ok);
  EXPECT_EQ(g.check(0.4f, 1.0f), V::Ok);
  EXPECT_EQ(g.check(3.0f, 1.0f), V::Spike);
  EXPECT_GT(3.0, g.mean() + kSpikeSigmas * g.stddev());
}

TEST(SpikeGuard, WarmupAndFactorZeroTurnTheTestOff) {
  SpikeGuardOptions o;
  o.warmup = 10;
  SpikeGuard g(o);
  feed(g, 9, 1.0f);
  EXPECT_EQ(g.check(100.0f, 1.0f), V::Ok);  // 9 accepted < warmup
  g.accept(1.0f);
  EXPECT_EQ(g.check(100.0f, 1.0f), V::Spike);
  o.factor = 0;
  SpikeGuard off(o);
  feed(off, 50, 1.0f);
  EXPECT_EQ(off.check(100.0f, 1.0f), V::Ok);
  EXPECT_EQ(off.check(std::numeric_limits<float>::quiet_NaN(), 1.0f), V::NonFinite);
}

TEST(SpikeGuard, StateRoundTripsAndAnOlderStateReadsAsVarianceZero) {
  SpikeGuard g;
  feed(g, 37, 0.5f, 2.0f, 4);
  g.reject();
  SpikeGuard h;
  h.from_json(g.to_json(), "state.json");
  EXPECT_EQ(h.mean(), g.mean());
  EXPECT_EQ(h.stddev(), g.stddev());
  EXPECT_EQ(h.consecutive(), 1);
  EXPECT_EQ(h.to_json(), g.to_json());
  nlohmann::json old = g.to_json();
  old.erase("ema_sq_sum");
  SpikeGuard o;
  o.from_json(old, "state.json");
  EXPECT_EQ(o.mean(), g.mean());
  EXPECT_NEAR(o.stddev(), 0.0, 1e-6);
  old.erase("ema_sum");
  try {
    o.from_json(old, "state.json");
    ADD_FAILURE() << "a state without ema_sum accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spike_guard.ema_sum"), std::string::npos) << e.what();
  }
}

}  // namespace spike_guard_test
}  // namespace baimo::train
