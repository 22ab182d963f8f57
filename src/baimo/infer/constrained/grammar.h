// Grammar: a GBNF-like context-free grammar over Unicode code points (llama.cpp's GBNF syntax),
// parsed into flat rules for the pushdown recognizer (recognizer.h).
// Syntax:
//   rule      ::= name "::=" alternatives        (a rule ends where the next `name ::=` starts)
//   name      [a-zA-Z0-9_-]+ ; `root` is the start rule and must exist
//   literal   "..." with escapes \n \r \t \\ \" \' \[ \] \- \xHH \uHHHH \UHHHHHHHH
//   class     [a-z0-9_] or negated [^"\\] (ranges, escapes as in literals); `.` is any code point
//   group     ( alternatives ) ; alternation a | b ; postfix x* x+ x? x{m} x{m,} x{m,n}
//   comment   # to the end of the line
// Repetition and groups are rewritten into generated rules (x* -> R ::= x R | "" , right
// recursive so the recognizer's stacks stay flat). Errors throw baimo::Error naming
// "<name>:line:column": syntax errors, undefined rules (at the reference), a missing root,
// left recursion (a rule that can reach itself before consuming a character) and {m,n} with
// m > n or n > kMaxRepeat.
// Layout: elems is one flat array; an alternative is a run of Char / Ref elems closed by End;
// rules[r] lists its alternatives' start indices. Char elems index [ranges_begin, ranges_end)
// of `ranges` (inclusive code-point intervals), `negated` inverts the set.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace baimo::constrained {

inline constexpr int kMaxRepeat = 1000;

struct Elem {
  enum Kind : uint8_t { End, Char, Ref };
  Kind kind = End;
  bool negated = false;
  uint32_t a = 0, b = 0;  // Char: ranges [a, b); Ref: a = rule id
};

struct Rule {
  std::string name;
  std::vector<uint32_t> alts;  // start index in Grammar::elems of each alternative
};

struct Grammar {
  std::vector<Elem> elems;
  std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive code-point intervals
  std::vector<Rule> rules;
  uint32_t root = 0;

  bool char_matches(const Elem& e, uint32_t cp) const {
    bool in = false;
    for (uint32_t i = e.a; i < e.b && !in; ++i) in = cp >= ranges[i].first && cp <= ranges[i].second;
    return in != e.negated;
  }
  // Whether any code point in [lo, hi] matches (for partial UTF-8 sequences).
  bool char_intersects(const Elem& e, uint32_t lo, uint32_t hi) const;
};

// Parses GBNF text; `name` (a file name, "grammar", "json_schema") prefixes error positions.
Grammar parse_grammar(std::string_view text, const std::string& name = "grammar");

}  // namespace baimo::constrained
