#include "baimo/eval/winrate_stats.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo::eval {

double WinTally::win_rate() const {
  if (n() <= 0) fail("a win rate needs at least one comparison");
  return (static_cast<double>(wins) + 0.5 * static_cast<double>(ties)) / static_cast<double>(n());
}

WinTally tally(std::span<const Outcome> outcomes) {
  WinTally t;
  for (Outcome o : outcomes) {
    if (o == Outcome::Win) ++t.wins;
    else if (o == Outcome::Tie) ++t.ties;
    else ++t.losses;
  }
  return t;
}

Interval wilson_interval(double p, int64_t n, double z) {
  if (n < 1 || !(p >= 0 && p <= 1)) fail("a Wilson interval needs 0 <= p <= 1 and n >= 1 (p {}, n {})", p, n);
  const double nn = static_cast<double>(n), z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double center = (p + z2 / (2 * nn)) / denom;
  const double half = z / denom * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

const char* outcome_name(Outcome o) {
  return o == Outcome::Win ? "win" : o == Outcome::Tie ? "tie" : "loss";
}

}  // namespace baimo::eval
