#include "baimo/eval/winrate_stats.h"

#include <gtest/gtest.h>

#include <vector>

#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::eval;

TEST(WinrateStats, TallyCountsAndHalfTies) {
  const std::vector<Outcome> o = {Outcome::Win, Outcome::Tie, Outcome::Loss, Outcome::Win, Outcome::Tie,
                                  Outcome::Win, Outcome::Loss};
  const WinTally t = tally(o);
  EXPECT_EQ(t.wins, 3);
  EXPECT_EQ(t.ties, 2);
  EXPECT_EQ(t.losses, 2);
  EXPECT_EQ(t.n(), 7);
  EXPECT_DOUBLE_EQ(t.win_rate(), 4.0 / 7.0);  // (3 + 2/2) / 7
  const std::vector<Outcome> ties(9, Outcome::Tie);
  EXPECT_EQ(tally(ties).win_rate(), 0.5);  // exactly
  EXPECT_THROW(tally(std::vector<Outcome>{}).win_rate(), Error);
  EXPECT_STREQ(outcome_name(Outcome::Loss), "loss");
}

TEST(WinrateStats, WilsonClosedForm) {
  // 5 of 10: the textbook interval (statsmodels proportion_confint(5, 10, method="wilson")).
  Interval i = wilson_interval(0.5, 10);
  EXPECT_NEAR(i.low, 0.236593090512564, 1e-12);
  EXPECT_NEAR(i.high, 0.7634069094874361, 1e-12);
  i = wilson_interval(0.7, 20);
  EXPECT_NEAR(i.low, 0.4810271816464765, 1e-12);
  EXPECT_NEAR(i.high, 0.8545227551323956, 1e-12);
  // p = 0 and p = 1: [0, z²/(n+z²)] and [n/(n+z²), 1].
  const double z2 = kZ95 * kZ95;
  i = wilson_interval(0.0, 10);
  EXPECT_EQ(i.low, 0.0);
  EXPECT_NEAR(i.high, z2 / (10 + z2), 1e-12);
  i = wilson_interval(1.0, 10);
  EXPECT_NEAR(i.low, 10 / (10 + z2), 1e-12);
  EXPECT_LE(i.high, 1.0);
  EXPECT_NEAR(i.high, 1.0, 1e-12);
  // Symmetric around 0.5, and narrower with more comparisons.
  EXPECT_NEAR(wilson_interval(0.5, 100).low + wilson_interval(0.5, 100).high, 1.0, 1e-12);
  EXPECT_LT(wilson_interval(0.5, 100).high, wilson_interval(0.5, 10).high);
  EXPECT_THROW(wilson_interval(0.5, 0), Error);
  EXPECT_THROW(wilson_interval(1.5, 10), Error);
}
