// A verifiable task baimo generates itself: small arithmetic problems with their exact answers and
// plausible wrong answers, for SFT (the right answer), preference pairs (chosen = right, rejected =
// wrong) and a held-out exact-match evaluation (`baimo data arithmetic`, cli/data_arithmetic.cpp).
// Contract:
// - Problems: a + b, a - b (a >= b: the operands are swapped when b is larger, so answers are never
//   negative), a × b. The first operand has up to `digits` digits (0 .. 10^digits - 1), the second up to
//   `second_digits` (0: the same as digits for + and -, one digit for ×, so products stay learnable).
//   `ops` is a non-empty subset of "+-*" (each at most once); digits is 1..6, second_digits 0..6.
//   Anything else is a baimo::Error naming the option.
// - A problem's identity is (a, op, b), commutative ops normalised (3 + 5 is 5 + 3); the phrasing
//   is not part of it. Held-out problems: the first `held_out` distinct problems of the seed's
//   held-out stream; train problems: the first `train` distinct problems of the seed's train stream
//   that are not held out. So no problem is on both sides, each side holds distinct problems, and the
//   held-out set does not depend on the train count. RL problems (`rl`, for prompts a policy is
//   rewarded on, which SFT has not answered for it): the next `rl` distinct problems of the train
//   stream, so the train problems do not depend on the rl count either, and no problem is in two
//   of the three sides. More problems than 80% of the space holds
//   (arithmetic_space_size) is a baimo::Error saying how many it holds.
// - prompt: the user's message, English ("What is 37 + 58?", "Compute 37 + 58.", "37 + 58 = ?") or,
//   with probability zh_fraction, Chinese ("计算 37 + 58 等于多少？", "37 加 58 等于多少？"); the phrasing
//   is drawn per record. answer: the result in decimal ("95"), nothing else.
// - wrong_answers(a, op, b): distinct non-negative decimals, never the answer, in a fixed order: off
//   by one (±1), off by ten (±10), a dropped carry (+: column sums mod 10) or the smaller-from-larger
//   borrow slip (-: |da - db| per column), for ×: one operand off by one ((a±1) × b), the answer's last
//   two digits swapped, the other ops' results (wrong op). Never empty.
// - rejected: one of the problem's wrong answers, drawn from the seed.
// - Deterministic: same (options, train, held_out) => the same problems, phrasings and rejected
//   answers on every platform (util/hash.h splitmix64 only, no std distributions).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace baimo {

struct ArithmeticOptions {
  int digits = 2;
  int second_digits = 0;      // 0: digits for + and -, 1 for ×
  std::string ops = "+-";     // subset of "+-*"
  double zh_fraction = 0.25;  // share of prompts phrased in Chinese, 0..1
  uint64_t seed = 1;
};

struct ArithmeticProblem {
  int64_t a = 0, b = 0;
  char op = '+';         // '+', '-' or '*'
  std::string prompt;    // the user's message
  std::string answer;    // the exact answer text
  std::string rejected;  // a plausible wrong answer (one of wrong_answers)
};

struct ArithmeticSplit {
  std::vector<ArithmeticProblem> train, held_out, rl;
};

int64_t arithmetic_result(int64_t a, char op, int64_t b);
std::vector<std::string> wrong_answers(int64_t a, char op, int64_t b);
// The problem's identity as text ("3+5"; commutative ops with the smaller operand first).
std::string arithmetic_key(int64_t a, char op, int64_t b);
// Distinct problems the digits and ops allow.
uint64_t arithmetic_space_size(const ArithmeticOptions& o);
// Checks the options (baimo::Error naming the bad one).
void validate_arithmetic_options(const ArithmeticOptions& o);
ArithmeticSplit generate_arithmetic(const ArithmeticOptions& o, size_t train, size_t held_out, size_t rl = 0);

}  // namespace baimo
