#include "baimo/data/arithmetic_task.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>
#include <unordered_set>

#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo {
namespace {

// A splitmix64 stream: the same numbers on every platform.
class Stream {
 public:
  explicit Stream(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64(state_++); }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

int64_t pow10(int d) {
  int64_t p = 1;
  while (d-- > 0) p *= 10;
  return p;
}

std::string op_text(char op, bool zh) {
  if (op == '+') return zh ? "加" : "+";
  if (op == '-') return zh ? "减" : "-";
  return zh ? "乘以" : "×";
}

std::string phrase(Stream& r, int64_t a, char op, int64_t b, bool zh) {
  const std::string sym = op == '*' ? "×" : std::string(1, op);
  if (zh) {
    if (r.below(2) == 0) return fmt::format("计算 {} {} {} 等于多少？", a, sym, b);
    return fmt::format("{}{}{}等于多少？", a, op_text(op, true), b);
  }
  switch (r.below(3)) {
    case 0: return fmt::format("What is {} {} {}?", a, sym, b);
    case 1: return fmt::format("Compute {} {} {}.", a, sym, b);
    default: return fmt::format("{} {} {} = ?", a, sym, b);
  }
}

// Column-wise slips: + without carries, - taking the smaller digit from the larger in each column.
int64_t column_slip(int64_t a, char op, int64_t b) {
  int64_t out = 0, place = 1;
  for (; a > 0 || b > 0; a /= 10, b /= 10, place *= 10) {
    const int64_t da = a % 10, db = b % 10;
    out += place * (op == '+' ? (da + db) % 10 : (da > db ? da - db : db - da));
  }
  return out;
}

struct Draw {
  int64_t a, b;
  char op;
};

int second_digits(const ArithmeticOptions& o, char op) {
  return o.second_digits > 0 ? o.second_digits : op == '*' ? 1 : o.digits;
}

Draw draw_problem(Stream& r, const ArithmeticOptions& o) {
  Draw d{0, 0, o.ops[static_cast<size_t>(r.below(static_cast<int64_t>(o.ops.size())))]};
  d.a = r.below(pow10(o.digits));
  d.b = r.below(pow10(second_digits(o, d.op)));
  if (d.op == '-' && d.a < d.b) std::swap(d.a, d.b);
  return d;
}

ArithmeticProblem make_problem(Stream& r, const ArithmeticOptions& o, const Draw& d) {
  ArithmeticProblem p;
  p.a = d.a;
  p.b = d.b;
  p.op = d.op;
  p.prompt = phrase(r, d.a, d.op, d.b, r.unit() < o.zh_fraction);
  p.answer = std::to_string(arithmetic_result(d.a, d.op, d.b));
  const auto wrong = wrong_answers(d.a, d.op, d.b);
  p.rejected = wrong[static_cast<size_t>(r.below(static_cast<int64_t>(wrong.size())))];
  return p;
}

// Draws distinct problems whose keys are not in `taken` until `n` are found; adds their keys to it.
std::vector<ArithmeticProblem> draw_side(Stream r, const ArithmeticOptions& o, size_t n,
                                         std::unordered_set<std::string>& taken, const char* side) {
  std::vector<ArithmeticProblem> out;
  std::unordered_set<std::string> mine;
  const uint64_t max_draws = 64 * static_cast<uint64_t>(n) + 10000;
  for (uint64_t i = 0; out.size() < n; ++i) {
    if (i == max_draws)
      fail("arithmetic: found only {} distinct {} problems of the {} asked for in {} draws (digits {}, ops {}); "
           "ask for fewer or widen --digits / --ops", out.size(), side, n, max_draws, o.digits, o.ops);
    const Draw d = draw_problem(r, o);
    std::string key = arithmetic_key(d.a, d.op, d.b);
    if (taken.contains(key) || !mine.insert(key).second) continue;
    out.push_back(make_problem(r, o, d));
  }
  taken.insert(mine.begin(), mine.end());
  return out;
}

}  // namespace

int64_t arithmetic_result(int64_t a, char op, int64_t b) {
  if (op == '+') return a + b;
  if (op == '-') return a - b;
  if (op == '*') return a * b;
  fail("arithmetic: unknown op '{}' (expected +, - or *)", op);
}

std::vector<std::string> wrong_answers(int64_t a, char op, int64_t b) {
  const int64_t right = arithmetic_result(a, op, b);
  std::vector<int64_t> c{right + 1, right - 1, right + 10, right - 10};
  if (op == '*') {
    c.push_back(right + b);  // (a + 1) × b
    c.push_back(right - b);  // (a - 1) × b
    c.push_back(right + a);  // a × (b + 1)
  } else {
    c.push_back(column_slip(a, op, b));
  }
  if (right >= 10) {  // the last two digits swapped
    std::string s = std::to_string(right);
    std::swap(s[s.size() - 1], s[s.size() - 2]);
    c.push_back(std::stoll(s));
  }
  for (char other : std::string("+-*"))
    if (other != op) c.push_back(arithmetic_result(a, other, b));  // a negative a - b is dropped below
  std::vector<std::string> out;
  for (int64_t v : c) {
    std::string s = std::to_string(v);
    if (v >= 0 && v != right && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;  // right + 1 is always there
}

std::string arithmetic_key(int64_t a, char op, int64_t b) {
  if ((op == '+' || op == '*') && b < a) std::swap(a, b);
  return fmt::format("{}{}{}", a, op, b);
}

void validate_arithmetic_options(const ArithmeticOptions& o) {
  if (o.digits < 1 || o.digits > 6) fail("arithmetic: --digits {} is out of range (1..6)", o.digits);
  if (o.second_digits < 0 || o.second_digits > 6)
    fail("arithmetic: --second-digits {} is out of range (0..6)", o.second_digits);
  if (o.ops.empty()) fail("arithmetic: --ops is empty (expected some of +,-,*)");
  for (size_t i = 0; i < o.ops.size(); ++i) {
    if (std::string_view("+-*").find(o.ops[i]) == std::string_view::npos)
      fail("arithmetic: --ops has '{}' (expected some of +,-,*)", o.ops[i]);
    if (o.ops.find(o.ops[i]) != i) fail("arithmetic: --ops names '{}' twice", o.ops[i]);
  }
  if (!(o.zh_fraction >= 0 && o.zh_fraction <= 1)) fail("arithmetic: --zh-fraction {} is not in 0..1", o.zh_fraction);
}

uint64_t arithmetic_space_size(const ArithmeticOptions& o) {
  // Drawn pairs: ka x kb; the m (m - 1) / 2 pairs of distinct numbers below m = min(ka, kb) come both
  // ways and are one problem (a commutative op, or - with the operands put in order).
  uint64_t n = 0;
  for (char op : o.ops) {
    const uint64_t ka = static_cast<uint64_t>(pow10(o.digits)), kb = static_cast<uint64_t>(pow10(second_digits(o, op)));
    const uint64_t m = std::min(ka, kb);
    n += ka * kb - m * (m - 1) / 2;
  }
  return n;
}

ArithmeticSplit generate_arithmetic(const ArithmeticOptions& o, size_t train, size_t held_out, size_t rl) {
  validate_arithmetic_options(o);
  const uint64_t space = arithmetic_space_size(o);
  if (static_cast<double>(train + held_out + rl) > 0.8 * static_cast<double>(space))
    fail("arithmetic: {} train + {} held-out{} problems asked for, but digits {} ({} second) with ops {} allow only {} "
         "distinct problems (at most {} can be drawn); ask for fewer or widen --digits / --second-digits / --ops",
         train, held_out, rl ? fmt::format(" + {} RL", rl) : std::string(), o.digits, o.second_digits, o.ops, space,
         static_cast<uint64_t>(0.8 * static_cast<double>(space)));
  ArithmeticSplit s;
  std::unordered_set<std::string> taken;
  s.held_out = draw_side(Stream(splitmix64(o.seed ^ 0x68656c646f7574ull)), o, held_out, taken, "held-out");
  s.train = draw_side(Stream(splitmix64(o.seed ^ 0x747261696eull)), o, train + rl, taken, "train");
  s.rl.assign(std::make_move_iterator(s.train.begin() + static_cast<std::ptrdiff_t>(train)),
              std::make_move_iterator(s.train.end()));
  s.train.resize(train);
  return s;
}

}  // namespace baimo
