#include "baimo/tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {

void syntax_error(int line, int col, const std::string& what) {
  fail("template line {}, column {}: {}", line, col, what);
}

namespace {

std::string normalize(const std::string& in) {
  std::string s;
  s.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      s += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      s += in[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();  // keep_trailing_newline = False
  return s;
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python's rstrip() / "only white space" on UTF-8 text.
std::string rstrip_ws(const std::string& t) { return py_strip(t, false, true); }
bool all_ws_nonempty(std::string_view t) {
  if (t.empty()) return false;
  for (char32_t c : utf8_decode(t))
    if (!py_isspace(c)) return false;
  return true;
}

class Lexer {
 public:
  explicit Lexer(const std::string& src) : s_(normalize(src)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < s_.size(); ++i)
      if (s_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < s_.size()) {
      size_t open = find_open(pos_);
      if (open == std::string::npos) {
        emit(Tok::Data, s_.substr(pos_), pos_);
        pos_ = s_.size();
        break;
      }
      std::string text = s_.substr(pos_, open - pos_);
      const char kind = s_[open + 1];  // '{' '%' '#'
      char sign = open + 2 < s_.size() && (s_[open + 2] == '-' || s_[open + 2] == '+') ? s_[open + 2] : 0;
      size_t raw_end = kind == '%' ? match_raw_begin(open + 2 + (sign ? 1 : 0)) : std::string::npos;
      text = strip_before(text, sign, kind != '{', line_starting);
      if (!text.empty()) emit(Tok::Data, text, pos_);
      size_t after = open + 2 + (sign ? 1 : 0);
      if (raw_end != std::string::npos) {
        line_starting = lex_raw(open, raw_end);
      } else if (kind == '#') {
        line_starting = lex_comment(open, after);
      } else {
        line_starting = lex_tag(open, after, kind == '%');
      }
    }
    tokens_.push_back(Token{Tok::Eof, "", where(s_.size()).first, where(s_.size()).second});
    return std::move(tokens_);
  }

 private:
  std::string s_;
  size_t pos_ = 0;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;

  std::pair<int, int> where(size_t p) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), p);
    size_t line = size_t(it - line_starts_.begin());
    size_t start = line_starts_[line - 1];
    return {int(line), int(utf8_length(std::string_view(s_).substr(start, p - start)) + 1)};
  }
  [[noreturn]] void error_at(size_t p, const std::string& what) const {
    auto [l, c] = where(p);
    syntax_error(l, c, what);
  }
  void emit(Tok t, std::string text, size_t p) {
    auto [l, c] = where(p);
    tokens_.push_back(Token{t, std::move(text), l, c});
  }

  size_t find_open(size_t from) const {
    for (size_t i = from; i + 1 < s_.size(); ++i)
      if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  // OptionalLStrip: "-" strips all white space before the tag; otherwise lstrip_blocks strips the
  // white space between the last newline and a block or comment tag.
  static std::string strip_before(const std::string& text, char sign, bool block_or_comment, bool line_starting) {
    if (sign == '-') return rstrip_ws(text);
    if (sign != '+' && block_or_comment) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting) && all_ws_nonempty(std::string_view(text).substr(l_pos))) return text.substr(0, l_pos);
    }
    return text;
  }

  size_t skip_ws(size_t p) const {
    while (p < s_.size() && is_ws(s_[p])) ++p;
    return p;
  }
  bool starts(size_t p, const char* lit) const { return p <= s_.size() && s_.compare(p, std::strlen(lit), lit) == 0; }

  // After "{%" [sign]: "\s*raw\s*" then "-%}\s*" or "%}"; returns the position after it, or npos.
  size_t match_raw_begin(size_t p) const {
    p = skip_ws(p);
    if (!starts(p, "raw")) return std::string::npos;
    p = skip_ws(p + 3);
    if (starts(p, "-%}")) return skip_ws(p + 3);
    if (starts(p, "%}")) return p + 2;
    return std::string::npos;
  }

  // The end of a block-like tag at p ("+%}", "-%}\s*", "%}\n?"), or npos.
  size_t match_end(size_t p, char c1, bool trim) const {
    const char e[3] = {c1, '}', 0};
    if (starts(p, "+") && starts(p + 1, e)) return p + 3;
    if (starts(p, "-") && starts(p + 1, e)) return skip_ws(p + 3);
    if (starts(p, e)) {
      p += 2;
      if (trim && p < s_.size() && s_[p] == '\n') ++p;
      return p;
    }
    return std::string::npos;
  }

  bool lex_raw(size_t open, size_t body) {
    for (size_t i = body; i + 1 < s_.size(); ++i) {
      if (!(s_[i] == '{' && s_[i + 1] == '%')) continue;
      size_t p = i + 2;
      char sign = p < s_.size() && (s_[p] == '-' || s_[p] == '+') ? s_[p] : 0;
      if (sign) ++p;
      p = skip_ws(p);
      if (!starts(p, "endraw")) continue;
      p = skip_ws(p + 6);
      size_t end = match_end(p, '%', true);
      if (end == std::string::npos) continue;
      std::string text = strip_before(s_.substr(body, i - body), sign, true, s_[body - 1] == '\n');
      if (!text.empty()) emit(Tok::Data, text, body);
      pos_ = end;
      return s_[end - 1] == '\n';
    }
    error_at(open, "missing end of raw directive ({% endraw %})");
  }

  bool lex_comment(size_t open, size_t p) {
    for (; p < s_.size(); ++p) {
      size_t end = match_end(p, '#', true);
      if (end != std::string::npos) {
        pos_ = end;
        return s_[end - 1] == '\n';
      }
    }
    error_at(open, "missing end of comment tag (#})");
  }

  bool lex_tag(size_t open, size_t p, bool block) {
    emit(block ? Tok::BlockBegin : Tok::VarBegin, block ? "{%" : "{{", open);
    std::vector<char> balance;
    while (true) {
      if (p >= s_.size()) error_at(open, block ? "unexpected end of template: the tag is not closed with %}" : "unexpected end of template: the tag is not closed with }}");
      if (balance.empty()) {
        size_t end = block ? match_end(p, '%', true) : std::string::npos;
        if (!block) {
          if (starts(p, "-}}")) end = skip_ws(p + 3);
          else if (starts(p, "}}")) end = p + 2;
        }
        if (end != std::string::npos) {
          emit(block ? Tok::BlockEnd : Tok::VarEnd, block ? "%}" : "}}", p);
          pos_ = end;
          return s_[end - 1] == '\n';
        }
      }
      char c = s_[p];
      if (is_ws(c)) {
        ++p;
      } else if (is_digit(c)) {
        p = lex_number(p);
      } else if (is_name_start(c)) {
        size_t b = p;
        while (p < s_.size() && is_name_char(s_[p])) ++p;
        emit(Tok::Name, s_.substr(b, p - b), b);
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        p = lex_operator(p, balance);
      }
    }
  }

  size_t lex_number(size_t p) {
    size_t b = p;
    auto digits = [&](size_t q) {
      size_t st = q;
      while (q < s_.size() && (is_digit(s_[q]) || (s_[q] == '_' && q > st && q + 1 < s_.size() && is_digit(s_[q + 1])))) ++q;
      return q;
    };
    p = digits(p);
    bool is_float = false;
    if (p + 1 < s_.size() && s_[p] == '.' && is_digit(s_[p + 1])) {
      p = digits(p + 1);
      is_float = true;
    }
    if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
      size_t q = p + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && is_digit(s_[q])) {
        p = digits(q);
        is_float = true;
      }
    }
    std::string text;
    for (size_t k = b; k < p; ++k)
      if (s_[k] != '_') text += s_[k];
    emit(is_float ? Tok::Float : Tok::Int, text, b);
    return p;
  }

  size_t lex_string(size_t p) {
    const char q = s_[p];
    size_t b = p++;
    std::string out;
    while (true) {
      if (p >= s_.size()) error_at(b, "unterminated string");
      char c = s_[p];
      if (c == q) break;
      if (c != '\\' || p + 1 >= s_.size()) {
        out += c;
        ++p;
        continue;
      }
      char e = s_[p + 1];
      p += 2;
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (p + n > s_.size()) error_at(p - 2, "truncated \\" + std::string(1, e) + " escape in a string");
          uint32_t v = 0;
          for (size_t k = 0; k < n; ++k) {
            char h = s_[p + k];
            int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) error_at(p - 2, "truncated \\" + std::string(1, e) + " escape in a string");
            v = v * 16 + uint32_t(d);
          }
          if (v > 0x10FFFF) error_at(p - 2, "illegal Unicode character in a string escape");
          utf8_append(out, char32_t(v));
          p += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = uint32_t(e - '0');
            for (int k = 0; k < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7'; ++k) v = v * 8 + uint32_t(s_[p++] - '0');
            utf8_append(out, char32_t(v));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    emit(Tok::String, out, b);
    return p + 1;
  }

  size_t lex_operator(size_t p, std::vector<char>& balance) {
    static const char* two[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : two)
      if (starts(p, op)) {
        emit(Tok::Op, op, p);
        return p + 2;
      }
    char c = s_[p];
    if (!std::strchr("+-/*%~[](){}><=.:|,;", c)) {
      size_t n = 1;
      while (p + n < s_.size() && (static_cast<unsigned char>(s_[p + n]) & 0xC0) == 0x80) ++n;
      error_at(p, "unexpected character '" + s_.substr(p, n) + "'");
    }
    if (c == '(' || c == '[' || c == '{') balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) error_at(p, std::string("unexpected '") + c + "'");
      if (balance.back() != c) error_at(p, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      balance.pop_back();
    }
    emit(Tok::Op, std::string(1, c), p);
    return p + 1;
  }
};

}  // namespace

std::vector<Token> lex(const std::string& source) { return Lexer(source).run(); }

}  // namespace baimo::jinja
