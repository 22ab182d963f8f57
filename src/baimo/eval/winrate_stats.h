// Tallies of a pairwise comparison (model A against model B on the same prompts) and the
// confidence interval of A's win rate.
// - Outcome per prompt: Win (A better), Tie, Loss (B better). WinTally counts them;
//   win_rate = (wins + ties / 2) / n (a tie is half a win; 0.5 exactly when every prompt is a tie).
//   n = 0 is a baimo::Error (no rate).
// - wilson_interval(p, n, z): the Wilson score interval of a proportion p observed over n trials,
//   center = (p + z²/2n) / (1 + z²/n), half = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²), clamped
//   to [0, 1]. winrate uses it on the win rate with ties as half wins and z = 1.959963984540054
//   (two-sided 95%). Requires 0 <= p <= 1, n >= 1 (baimo::Error otherwise).
#pragma once
#include <cstdint>
#include <span>

namespace baimo::eval {

enum class Outcome { Win, Tie, Loss };

struct WinTally {
  int64_t wins = 0, ties = 0, losses = 0;
  int64_t n() const { return wins + ties + losses; }
  double win_rate() const;
};

WinTally tally(std::span<const Outcome> outcomes);

struct Interval {
  double low = 0, high = 1;
};

inline constexpr double kZ95 = 1.959963984540054;

Interval wilson_interval(double p, int64_t n, double z = kZ95);

const char* outcome_name(Outcome o);  // "win" | "tie" | "loss"

}  // namespace baimo::eval
