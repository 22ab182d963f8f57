#include "baimo/infer/constrained/grammar.h"

#include <functional>
#include <unordered_map>

#include "baimo/util/error.h"

namespace baimo::constrained {

bool Grammar::char_intersects(const Elem& e, uint32_t lo, uint32_t hi) const {
  if (!e.negated) {
    for (uint32_t i = e.a; i < e.b; ++i)
      if (ranges[i].first <= hi && ranges[i].second >= lo) return true;
    return false;
  }
  // Negated: some point of [lo, hi] lies outside every range. Walk lo upward past covering ranges.
  for (uint32_t cp = lo;;) {
    bool moved = false;
    for (uint32_t i = e.a; i < e.b; ++i)
      if (ranges[i].first <= cp && ranges[i].second >= cp) {
        if (ranges[i].second >= hi) return false;
        cp = ranges[i].second + 1;
        moved = true;
      }
    if (!moved) return true;
  }
}

namespace {

using Alt = std::vector<Elem>;

class Parser {
 public:
  Parser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  Grammar run() {
    skip_space();
    while (pos_ < s_.size()) {
      const size_t at = pos_;
      std::string name = parse_name();
      skip_space();
      if (!s_.substr(pos_).starts_with("::=")) error(pos_, "expected '::=' after rule name '{}'", name);
      pos_ += 3;
      uint32_t id = rule_id(name, at);
      if (defined_[id]) error(at, "rule '{}' is defined twice", name);
      defined_[id] = true;
      def_pos_[id] = at;
      parse_alternates(id, false);
      skip_space();
    }
    for (uint32_t r = 0; r < alts_.size(); ++r)
      if (!defined_[r]) error(first_use_[r], "undefined rule '{}'", names_[r]);
    auto root = ids_.find("root");
    if (root == ids_.end()) error(s_.size(), "no 'root' rule (the start rule)");
    check_left_recursion();
    return flatten(root->second);
  }

 private:
  template <class... Args>
  [[noreturn]] void error(size_t at, fmt::format_string<Args...> f, Args&&... args) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    fail("{}:{}:{}: {}", name_, line, col, fmt::format(f, std::forward<Args>(args)...));
  }

  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }

  void skip_space() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    size_t b = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    if (b == pos_) error(b, "expected a rule name");
    return std::string(s_.substr(b, pos_ - b));
  }

  // Whether a new rule (`name ::=`) starts at pos_.
  bool at_rule_start() const {
    size_t p = pos_;
    while (p < s_.size() && name_char(s_[p])) ++p;
    if (p == pos_) return false;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
    return s_.substr(p).starts_with("::=");
  }

  uint32_t rule_id(const std::string& name, size_t at) {
    auto [it, fresh] = ids_.try_emplace(name, static_cast<uint32_t>(alts_.size()));
    if (fresh) {
      alts_.emplace_back();
      names_.push_back(name);
      defined_.push_back(false);
      first_use_.push_back(at);
      def_pos_.push_back(at);
    }
    return it->second;
  }

  uint32_t new_rule(const std::string& base, size_t at) {
    uint32_t id = rule_id(base + "-" + std::to_string(alts_.size()), at);
    defined_[id] = true;
    return id;
  }

  // One UTF-8 code point or escape inside a literal / class.
  uint32_t parse_char(size_t end_hint) {
    if (pos_ >= s_.size()) error(end_hint, "unterminated literal or class");
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c == '\\') {
      if (++pos_ >= s_.size()) error(pos_, "unterminated escape");
      char e = s_[pos_++];
      auto hex = [&](int n) {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i, ++pos_) {
          if (pos_ >= s_.size()) error(pos_, "expected {} hex digits", n);
          char h = s_[pos_];
          int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (d < 0) error(pos_, "expected a hex digit, got '{}'", h);
          v = v * 16 + static_cast<uint32_t>(d);
        }
        return v;
      };
      switch (e) {
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '0': return 0;
        case 'x': return hex(2);
        case 'u': return hex(4);
        case 'U': return hex(8);
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': return static_cast<uint8_t>(e);
        default: error(pos_ - 1, "unknown escape '\\{}'", e);
      }
    }
    // UTF-8 decode
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || pos_ + static_cast<size_t>(n) > s_.size()) error(pos_, "invalid UTF-8");
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < n; ++i) {
      unsigned char k = static_cast<unsigned char>(s_[pos_ + static_cast<size_t>(i)]);
      if ((k & 0xC0) != 0x80) error(pos_, "invalid UTF-8");
      cp = (cp << 6) | (k & 0x3F);
    }
    pos_ += static_cast<size_t>(n);
    return cp;
  }

  Elem char_elem(std::vector<std::pair<uint32_t, uint32_t>> rs, bool negated) {
    Elem e{Elem::Char, negated, static_cast<uint32_t>(ranges_.size()), 0};
    ranges_.insert(ranges_.end(), rs.begin(), rs.end());
    e.b = static_cast<uint32_t>(ranges_.size());
    return e;
  }

  void parse_alternates(uint32_t rule, bool nested) {
    for (;;) {
      Alt seq = parse_sequence(rule, nested);  // may add rules (alts_ grows): index after
      alts_[rule].push_back(std::move(seq));
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        continue;
      }
      return;
    }
  }

  // Items until '|', ')' (nested) or the next rule's start / end of text.
  Alt parse_sequence(uint32_t rule, bool nested) {
    Alt seq;
    size_t last_start = 0;  // index in seq where the last item began (for postfix operators)
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) {
        if (nested) error(pos_, "missing ')'");
        return seq;
      }
      char c = s_[pos_];
      if (c == '|') return seq;
      if (c == ')') {
        if (!nested) error(pos_, "unexpected ')'");
        return seq;
      }
      const size_t at = pos_;
      if (c == '"') {
        ++pos_;
        last_start = seq.size();
        while (pos_ < s_.size() && s_[pos_] != '"') {
          uint32_t cp = parse_char(at);
          seq.push_back(char_elem({{cp, cp}}, false));
        }
        if (pos_ >= s_.size()) error(at, "unterminated literal");
        ++pos_;
        // A postfix operator applies to the whole literal: wrap multi-char literals in a rule.
        if (seq.size() - last_start != 1 && pos_ < s_.size() && (s_[pos_] == '*' || s_[pos_] == '+' || s_[pos_] == '?' || s_[pos_] == '{')) {
          uint32_t g = new_rule(names_[rule], at);
          alts_[g].push_back(Alt(seq.begin() + static_cast<ptrdiff_t>(last_start), seq.end()));
          seq.resize(last_start);
          seq.push_back(Elem{Elem::Ref, false, g, 0});
        }
      } else if (c == '[') {
        ++pos_;
        bool neg = pos_ < s_.size() && s_[pos_] == '^';
        if (neg) ++pos_;
        std::vector<std::pair<uint32_t, uint32_t>> rs;
        while (pos_ < s_.size() && s_[pos_] != ']') {
          uint32_t lo = parse_char(at), hi = lo;
          if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
            ++pos_;
            hi = parse_char(at);
            if (hi < lo) error(at, "character range is reversed");
          }
          rs.emplace_back(lo, hi);
        }
        if (pos_ >= s_.size()) error(at, "unterminated character class");
        ++pos_;
        last_start = seq.size();
        seq.push_back(char_elem(std::move(rs), neg));
      } else if (c == '.') {
        ++pos_;
        last_start = seq.size();
        seq.push_back(char_elem({}, true));
      } else if (c == '(') {
        ++pos_;
        uint32_t g = new_rule(names_[rule], at);
        parse_alternates(g, true);
        if (pos_ >= s_.size() || s_[pos_] != ')') error(at, "missing ')' for this '('");
        ++pos_;
        last_start = seq.size();
        seq.push_back(Elem{Elem::Ref, false, g, 0});
      } else if (name_char(c)) {
        if (!nested && at_rule_start()) return seq;  // the next rule begins
        std::string name = parse_name();
        last_start = seq.size();
        seq.push_back(Elem{Elem::Ref, false, rule_id(name, at), 0});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (seq.empty() || last_start >= seq.size()) error(at, "'{}' has nothing to repeat", c);
        ++pos_;
        int lo = 0, hi = -1;
        if (c == '+') lo = 1;
        else if (c == '?') hi = 1;
        else if (c == '{') {
          auto num = [&] {
            skip_space();
            size_t b = pos_;
            long v = 0;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && v <= kMaxRepeat) v = v * 10 + (s_[pos_++] - '0');
            if (b == pos_) error(pos_, "expected a number in {{m,n}}");
            if (v > kMaxRepeat) error(b, "repetition count above {}", kMaxRepeat);
            skip_space();
            return static_cast<int>(v);
          };
          lo = num();
          hi = lo;
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
            skip_space();
            hi = pos_ < s_.size() && s_[pos_] == '}' ? -1 : num();
          }
          if (pos_ >= s_.size() || s_[pos_] != '}') error(at, "missing '}}' in repetition");
          ++pos_;
          if (hi >= 0 && hi < lo) error(at, "repetition {{{},{}}} has m > n", lo, hi);
        }
        Elem x = seq.back();
        seq.pop_back();
        for (int i = 0; i < lo; ++i) seq.push_back(x);
        if (hi < 0) {  // R ::= x R | ""
          uint32_t r = new_rule(names_[rule], at);
          alts_[r].push_back(Alt{x, Elem{Elem::Ref, false, r, 0}});
          alts_[r].push_back(Alt{});
          seq.push_back(Elem{Elem::Ref, false, r, 0});
        } else if (hi > lo) {  // R1 ::= x | "" ; Rk ::= x R(k-1) | ""
          uint32_t prev = 0;
          for (int k = 1; k <= hi - lo; ++k) {
            uint32_t r = new_rule(names_[rule], at);
            Alt a{x};
            if (k > 1) a.push_back(Elem{Elem::Ref, false, prev, 0});
            alts_[r].push_back(std::move(a));
            alts_[r].push_back(Alt{});
            prev = r;
          }
          seq.push_back(Elem{Elem::Ref, false, prev, 0});
        }
        last_start = seq.size();  // a second postfix operator has nothing to repeat
      } else {
        error(at, "unexpected character '{}'", c);
      }
    }
  }

  void check_left_recursion() {
    const size_t n = alts_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Alt& a : alts_[r]) {
          bool all = true;
          for (const Elem& e : a) all = all && e.kind == Elem::Ref && nullable[e.a];
          if (all) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    std::vector<int> color(n, 0);  // 0 new, 1 on the path, 2 done
    std::function<void(uint32_t)> visit = [&](uint32_t r) {
      color[r] = 1;
      for (const Alt& a : alts_[r])
        for (const Elem& e : a) {
          if (e.kind != Elem::Ref) break;
          if (color[e.a] == 1) error(def_pos_[e.a], "left recursion: rule '{}' can reach itself before reading a character", names_[e.a]);
          if (color[e.a] == 0) visit(e.a);
          if (!nullable[e.a]) break;
        }
      color[r] = 2;
    };
    for (uint32_t r = 0; r < n; ++r)
      if (color[r] == 0) visit(r);
  }

  Grammar flatten(uint32_t root) {
    Grammar g;
    g.root = root;
    g.ranges = std::move(ranges_);
    g.rules.resize(alts_.size());
    for (size_t r = 0; r < alts_.size(); ++r) {
      g.rules[r].name = names_[r];
      for (const Alt& a : alts_[r]) {
        g.rules[r].alts.push_back(static_cast<uint32_t>(g.elems.size()));
        g.elems.insert(g.elems.end(), a.begin(), a.end());
        g.elems.push_back(Elem{});
      }
    }
    return g;
  }

  std::string_view s_;
  const std::string& name_;
  size_t pos_ = 0;
  std::vector<std::vector<Alt>> alts_;
  std::vector<std::string> names_;
  std::vector<bool> defined_;
  std::vector<size_t> first_use_, def_pos_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

}  // namespace

Grammar parse_grammar(std::string_view text, const std::string& name) { return Parser(text, name).run(); }

}  // namespace baimo::constrained
