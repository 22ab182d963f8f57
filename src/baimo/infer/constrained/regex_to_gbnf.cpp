#include "baimo/infer/constrained/regex_to_gbnf.h"

#include <fmt/format.h>

#include "baimo/util/error.h"

namespace baimo::constrained {
namespace {

// Characters a JSON string body may hold unescaped, minus the ones given: a negated GBNF class.
constexpr const char* kUnescapedExcl = "\"\\\\\\x00-\\x1F";

std::string class_char(uint32_t c) {
  if (c == '"' || c == '\\' || c == ']' || c == '[' || c == '-' || c == '^' || c < 0x20) return fmt::format("\\x{:02X}", c);
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

class RegexTranslator {
 public:
  RegexTranslator(std::string_view p, const std::string& any) : p_(p), any_(any) {}

  std::string run() {
    bool anchored_start = false, anchored_end = false;
    if (!p_.empty() && p_[0] == '^') anchored_start = true, pos_ = 1;
    size_t end = p_.size();
    if (end > pos_ && p_[end - 1] == '$' && (end < 2 || p_[end - 2] != '\\')) anchored_end = true, --end;
    p_ = p_.substr(0, end);
    std::string body = alternation();
    if (pos_ < p_.size()) error(pos_, "unbalanced ')'");
    return fmt::format("{}({}){}", anchored_start ? "" : any_ + "* ", body, anchored_end ? "" : " " + any_ + "*");
  }

 private:
  [[noreturn]] void error(size_t at, const std::string& what) const {
    fail("pattern '{}': {} at offset {} (supported: literals, classes, groups, |, * + ? {{m,n}}, ^ and $ at the ends)",
         std::string(p_), what, at);
  }

  std::string alternation() {
    std::string out = sequence();
    while (pos_ < p_.size() && p_[pos_] == '|') {
      ++pos_;
      out += " | ";
      out += sequence();
    }
    return out;
  }

  std::string sequence() {
    std::string out = "\"\"";
    while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
      std::string atom_text = atom();
      out += ' ';
      out += quantified(std::move(atom_text));
    }
    return out;
  }

  std::string quantified(std::string a) {
    if (pos_ >= p_.size()) return a;
    char c = p_[pos_];
    std::string q;
    if (c == '*' || c == '+' || c == '?') {
      q = std::string(1, c);
      ++pos_;
    } else if (c == '{') {
      size_t close = p_.find('}', pos_);
      if (close == std::string_view::npos) error(pos_, "unclosed '{'");
      std::string_view inner = p_.substr(pos_ + 1, close - pos_ - 1);
      for (char d : inner)
        if (!(d >= '0' && d <= '9') && d != ',') error(pos_, "bad repetition");
      if (inner.empty() || inner[0] == ',') error(pos_, "bad repetition");
      q = fmt::format("{{{}}}", inner);
      pos_ = close + 1;
    } else {
      return a;
    }
    if (pos_ < p_.size() && p_[pos_] == '?') ++pos_;  // lazy: same language
    return fmt::format("({}){}", a, q);
  }

  // An escape's meaning as a GBNF class body (without brackets) or a literal char (returns 0 then).
  std::string escape_class(char e, bool& negated) {
    negated = false;
    switch (e) {
      case 'd': return "0-9";
      case 'w': return "a-zA-Z0-9_";
      case 'D': negated = true; return "0-9";
      case 'W': negated = true; return "a-zA-Z0-9_";
      default: return "";
    }
  }

  uint32_t utf8_at() {
    unsigned char c = static_cast<unsigned char>(p_[pos_]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (pos_ + static_cast<size_t>(n) > p_.size()) n = 1;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(p_[pos_ + static_cast<size_t>(i)]) & 0x3F);
    pos_ += static_cast<size_t>(n);
    return cp;
  }

  std::string literal(uint32_t c) {
    if (c == '"') return "\"\\\\\\\"\"";   // the JSON text \"
    if (c == '\\') return "\"\\\\\\\\\"";  // the JSON text \\ .
    if (c < 0x20) error(pos_, "a control character");
    return fmt::format("[{}]", class_char(c));
  }

  std::string atom() {
    const size_t at = pos_;
    char c = p_[pos_];
    if (c == '(') {
      ++pos_;
      if (p_.substr(pos_).starts_with("?:")) pos_ += 2;
      else if (pos_ < p_.size() && p_[pos_] == '?') error(at, "lookaround or named groups");
      std::string inner = alternation();
      if (pos_ >= p_.size() || p_[pos_] != ')') error(at, "missing ')'");
      ++pos_;
      return fmt::format("({})", inner);
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++pos_;
      return fmt::format("[^{}]", kUnescapedExcl);
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') error(at, "a quantifier with nothing to repeat");
    if (c == '^' || c == '$') error(at, "an anchor inside the pattern");
    if (c == '\\') {
      if (++pos_ >= p_.size()) error(at, "a trailing backslash");
      char e = p_[pos_++];
      bool neg;
      std::string cls = escape_class(e, neg);
      if (!cls.empty()) return neg ? fmt::format("[^{}{}]", cls, kUnescapedExcl) : fmt::format("[{}]", cls);
      if (e == 's') return "([ ] | \"\\\\t\" | \"\\\\n\" | \"\\\\r\")";
      if (e == 'S') return fmt::format("[^ {}]", kUnescapedExcl);
      if (e == 'n') return "\"\\\\n\"";
      if (e == 't') return "\"\\\\t\"";
      if (e == 'r') return "\"\\\\r\"";
      if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) error(at, fmt::format("the escape '\\{}'", e));
      return literal(static_cast<unsigned char>(e));
    }
    return literal(utf8_at());
  }

  std::string char_class() {
    const size_t at = pos_++;
    bool neg = pos_ < p_.size() && p_[pos_] == '^';
    if (neg) ++pos_;
    std::string body;
    bool first = true;
    while (pos_ < p_.size() && (p_[pos_] != ']' || first)) {
      first = false;
      uint32_t lo;
      if (p_[pos_] == '\\') {
        if (++pos_ >= p_.size()) error(at, "a trailing backslash");
        char e = p_[pos_++];
        bool eneg;
        std::string cls = escape_class(e, eneg);
        if (!cls.empty() && !eneg) {
          body += cls;
          continue;
        }
        if (e == 's') {
          body += " ";
          continue;
        }
        if (!cls.empty() || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
          error(at, fmt::format("the escape '\\{}' inside a class", e));
        lo = static_cast<unsigned char>(e);
      } else {
        lo = utf8_at();
      }
      uint32_t hi = lo;
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        if (p_[pos_] == '\\') {
          if (++pos_ >= p_.size()) error(at, "a trailing backslash");
          hi = static_cast<unsigned char>(p_[pos_++]);
        } else {
          hi = utf8_at();
        }
        if (hi < lo) error(at, "a reversed range");
      }
      // " \ and controls cannot stand unescaped in a JSON string: cut them out of the range.
      auto add = [&](uint32_t a, uint32_t b) {
        if (a > b) return;
        body += class_char(a);
        if (b != a) {
          body += '-';
          body += class_char(b);
        }
      };
      uint32_t a = std::max<uint32_t>(lo, 0x20);
      for (uint32_t cut : {uint32_t{'"'}, uint32_t{'\\'}}) {
        if (a <= cut && cut <= hi) {
          add(a, cut - 1);
          a = cut + 1;
        }
      }
      add(a, hi);
    }
    if (pos_ >= p_.size()) error(at, "an unclosed '['");
    ++pos_;
    if (neg) return fmt::format("[^{}{}]", body, kUnescapedExcl);
    if (body.empty()) error(at, "a class that matches no JSON string character");
    return fmt::format("[{}]", body);
  }

  std::string_view p_;
  const std::string& any_;
  size_t pos_ = 0;
};

}  // namespace

std::string regex_to_gbnf(std::string_view pattern, const std::string& any_char_rule) {
  return RegexTranslator(pattern, any_char_rule).run();
}

}  // namespace baimo::constrained
