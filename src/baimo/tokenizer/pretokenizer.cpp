// Hand-written matchers for the split patterns of pretokenizer.h. Each matcher tries the pattern's
// alternatives in order at `pos` with the regex engine's backtracking semantics (leftmost-first
// alternation, greedy quantifiers), written out per construct:
// - \s*[\r\n]+        : the whitespace run from pos, ending right after its last '\r' or '\n'.
// - \s+(?!\S)          : the whitespace run, minus its last character when a non-space follows.
// - [U]*[W]+ (o200k)   : greedy U-run, then W+; on failure backtrack to the last W inside the U-run.
#include <array>

#include "baimo/tokenizer/pretokenizer.h"

namespace baimo {
namespace {

using namespace unicode;
constexpr uint8_t kLN = kLetter | kNumber;
constexpr size_t kNone = static_cast<size_t>(-1);

struct Scanner {
  std::string_view s;
  const unsigned char* p;
  size_t n;
  explicit Scanner(std::string_view text)
      : s(text), p(reinterpret_cast<const unsigned char*>(text.data())), n(text.size()) {}

  // Class bits of the character at pos (0 for invalid bytes) and its byte length.
  uint8_t cls(size_t pos, size_t& len) const {
    unsigned char b = p[pos];
    if (b < 0x80) {
      len = 1;
      return ascii_class()[b];
    }
    uint32_t cp;
    len = decode_utf8(s, pos, cp);
    return cp == 0xFFFFFFFFu ? 0 : char_class(cp);
  }
  uint8_t cls(size_t pos) const {
    size_t len;
    return cls(pos, len);
  }
  // End of the run of characters whose class has any bit of `any` (and none of `none`).
  size_t run(size_t pos, uint8_t any) const {
    while (pos < n) {
      size_t len;
      if (!(cls(pos, len) & any)) break;
      pos += len;
    }
    return pos;
  }
  // End of the run of [^\s\p{L}\p{N}] characters.
  size_t punct_run(size_t pos) const {
    while (pos < n) {
      size_t len;
      if (cls(pos, len) & (kLN | kSpace)) break;
      pos += len;
    }
    return pos;
  }
  bool is_nl(size_t pos) const { return pos < n && (p[pos] == '\r' || p[pos] == '\n'); }

  static const std::array<uint8_t, 128>& ascii_class() {
    static const std::array<uint8_t, 128> t = [] {
      std::array<uint8_t, 128> a{};
      for (uint32_t c = 0; c < 128; ++c) a[c] = char_class(c);
      return a;
    }();
    return t;
  }

  // 's|'t|'re|'ve|'m|'ll|'d at pos (p[pos] == '\''); length or 0.
  size_t contraction(size_t pos, bool any_case) const {
    if (pos >= n || p[pos] != '\'' || pos + 1 >= n) return 0;
    auto low = [&](size_t i) -> unsigned char {
      unsigned char c = p[i];
      return (any_case && c >= 'A' && c <= 'Z') ? c + 32 : c;
    };
    unsigned char c1 = low(pos + 1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 >= n) return 0;
    unsigned char c2 = low(pos + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
  }

  // Whitespace alternatives at pos (a white-space character): [\s*[\r\n]+ |] \s+(?!\S) | \s+
  size_t whitespace(size_t pos, bool newline_rule) const {
    size_t e = pos, last_start = pos, last_nl_end = kNone;
    while (e < n) {
      size_t len;
      if (!(cls(e, len) & kSpace)) break;
      last_start = e;
      if (p[e] == '\r' || p[e] == '\n') last_nl_end = e + 1;
      e += len;
    }
    if (e == pos) return pos + 1;  // not white space (cannot happen: callers checked); keep progress
    if (newline_rule && last_nl_end != kNone) return last_nl_end;
    if (e == n) return e;
    if (last_start > pos) return last_start;  // \s+(?!\S): leave the last space for the next word
    return e;                                 // \s+
  }
};

// cl100k / qwen2 / baimo (and Llama-3, the same pattern as cl100k).
size_t cl100k_family(const Scanner& sc, size_t pos, size_t max_digits, bool baimo) {
  const unsigned char b = sc.p[pos];
  if (b == '\'') {
    if (size_t m = sc.contraction(pos, true)) return pos + m;
  }
  size_t len0;
  const uint8_t c0 = sc.cls(pos, len0);
  if (c0 & kLetter) return sc.run(pos, kLetter);
  const bool nl = b == '\r' || b == '\n';
  const bool prefix_ok = baimo ? ((c0 & kSpace) && !nl) : (!(c0 & kLN) && !nl);
  if (prefix_ok && pos + len0 < sc.n && (sc.cls(pos + len0) & kLetter)) return sc.run(pos + len0, kLetter);
  if (c0 & kNumber) {
    size_t e = pos;
    for (size_t k = 0; k < max_digits && e < sc.n; ++k) {
      size_t len;
      if (!(sc.cls(e, len) & kNumber)) break;
      e += len;
    }
    return e;
  }
  size_t q = pos;
  if (b == ' ' && pos + 1 < sc.n && !(sc.cls(pos + 1) & (kLN | kSpace))) q = pos + 1;
  if (q > pos || !(c0 & (kLN | kSpace))) {
    size_t e = sc.punct_run(q);
    while (sc.is_nl(e)) ++e;
    return e;
  }
  return sc.whitespace(pos, true);
}

size_t gpt2(const Scanner& sc, size_t pos) {
  const unsigned char b = sc.p[pos];
  if (b == '\'') {
    if (size_t m = sc.contraction(pos, false)) return pos + m;
  }
  const uint8_t c0 = sc.cls(pos);
  size_t q = pos;
  uint8_t c = c0;
  if (b == ' ' && pos + 1 < sc.n) {
    uint8_t c1 = sc.cls(pos + 1);
    if (!(c1 & kSpace)) {
      q = pos + 1;
      c = c1;
    }
  }
  if (c & kLetter) return sc.run(q, kLetter);
  if (c & kNumber) return sc.run(q, kNumber);
  if (!(c & kSpace)) return sc.punct_run(q);
  return sc.whitespace(pos, false);
}

// o200k: [U]*[W]+ from start; kNone if it does not match.
size_t o200k_upper_lower(const Scanner& sc, size_t start) {
  size_t a = start, last_w_end = kNone;
  while (a < sc.n) {
    size_t len;
    uint8_t c = sc.cls(a, len);
    if (!(c & kUpperish)) break;
    if (c & kLowerish) last_w_end = a + len;
    a += len;
  }
  size_t e = sc.run(a, kLowerish);
  if (e > a) return e;
  return last_w_end;
}
// o200k: [U]+[W]* from start.
size_t o200k_upper_then_lower(const Scanner& sc, size_t start) {
  size_t a = sc.run(start, kUpperish);
  if (a == start) return kNone;
  return sc.run(a, kLowerish);
}

size_t o200k(const Scanner& sc, size_t pos) {
  const unsigned char b = sc.p[pos];
  size_t len0;
  const uint8_t c0 = sc.cls(pos, len0);
  const bool nl = b == '\r' || b == '\n';
  const bool prefix_ok = !(c0 & kLN) && !nl && pos + len0 < sc.n;
  auto with_contraction = [&](size_t e) {
    if (size_t m = sc.contraction(e, true)) return e + m;
    return e;
  };
  if (prefix_ok) {
    if (size_t e = o200k_upper_lower(sc, pos + len0); e != kNone) return with_contraction(e);
  }
  if (size_t e = o200k_upper_lower(sc, pos); e != kNone) return with_contraction(e);
  if (prefix_ok) {
    if (size_t e = o200k_upper_then_lower(sc, pos + len0); e != kNone) return with_contraction(e);
  }
  if (size_t e = o200k_upper_then_lower(sc, pos); e != kNone) return with_contraction(e);
  if (c0 & kNumber) {
    size_t e = pos;
    for (int k = 0; k < 3 && e < sc.n; ++k) {
      size_t len;
      if (!(sc.cls(e, len) & kNumber)) break;
      e += len;
    }
    return e;
  }
  size_t q = pos;
  if (b == ' ' && pos + 1 < sc.n && !(sc.cls(pos + 1) & (kLN | kSpace))) q = pos + 1;
  if (q > pos || !(c0 & (kLN | kSpace))) {
    size_t e = sc.punct_run(q);
    while (e < sc.n && (sc.p[e] == '\r' || sc.p[e] == '\n' || sc.p[e] == '/')) ++e;
    return e;
  }
  return sc.whitespace(pos, true);
}

// ---- deepseek-coder: llama.cpp applies these regexes one after the other, each splitting the
// pieces of the previous one into matches and the gaps between them:
//   [\r\n]  |  \s?\p{L}+  |  \s?\p{P}+  |  [一-龥ࠀ-一가-퟿]+  |  \p{N}
// Leftmost match in [from, to) for stage k; returns {start, end} or {kNone, kNone}.
std::pair<size_t, size_t> staged_match(const Scanner& sc, int stage, size_t from, size_t to) {
  size_t i = from;
  while (i < to) {
    size_t len;
    uint8_t c = sc.cls(i, len);
    if (i + len > to) len = to - i;
    switch (stage) {
      case 0:
        if (sc.p[i] == '\r' || sc.p[i] == '\n') return {i, i + 1};
        break;
      case 1:
      case 2: {
        const uint8_t want = stage == 1 ? kLetter : kPunct;
        size_t body = kNone;
        if (c & want) body = i;
        else if ((c & kSpace) && i + len < to && (sc.cls(i + len) & want)) body = i + len;
        if (body != kNone) {
          size_t e = body;
          while (e < to) {
            size_t l2;
            if (!(sc.cls(e, l2) & want) || e + l2 > to) break;
            e += l2;
          }
          return {i, e};
        }
        break;
      }
      case 3:
        if (c & kCjk) {
          size_t e = i;
          while (e < to) {
            size_t l2;
            if (!(sc.cls(e, l2) & kCjk) || e + l2 > to) break;
            e += l2;
          }
          return {i, e};
        }
        break;
      case 4:
        if (c & kNumber) return {i, i + len};
        break;
    }
    i += len;
  }
  return {kNone, kNone};
}

}  // namespace

std::vector<std::string_view> PreTokenizer::split_staged(std::string_view text) const {
  Scanner sc(text);
  std::vector<std::pair<size_t, size_t>> pieces{{0, text.size()}}, next;
  if (text.empty()) return {};
  for (int stage = 0; stage < 5; ++stage) {
    next.clear();
    for (auto [a, b] : pieces) {
      size_t pos = a;
      while (pos < b) {
        auto [ms, me] = staged_match(sc, stage, pos, b);
        if (ms == kNone) {
          next.emplace_back(pos, b);
          break;
        }
        if (ms > pos) next.emplace_back(pos, ms);
        next.emplace_back(ms, me);
        pos = me;
      }
    }
    pieces.swap(next);
  }
  std::vector<std::string_view> out;
  out.reserve(pieces.size());
  for (auto [a, b] : pieces) out.push_back(text.substr(a, b - a));
  return out;
}

size_t PreTokenizer::next_piece_end(std::string_view text, size_t pos) const {
  Scanner sc(text);
  switch (kind_) {
    case PreTokenizerKind::Gpt2: return gpt2(sc, pos);
    case PreTokenizerKind::Cl100k: return cl100k_family(sc, pos, 3, false);
    case PreTokenizerKind::Qwen2: return cl100k_family(sc, pos, 1, false);
    case PreTokenizerKind::Baimo: return cl100k_family(sc, pos, 3, true);
    case PreTokenizerKind::O200k: return o200k(sc, pos);
    case PreTokenizerKind::DeepseekCoder: {
      size_t off = 0;
      for (std::string_view p : split_staged(text.substr(pos))) {
        off += p.size();
        return pos + off;
      }
      return text.size();
    }
  }
  return text.size();
}

}  // namespace baimo
