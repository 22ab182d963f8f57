#include "baimo/infer/constrained/recognizer.h"

#include <algorithm>
#include <cstddef>

namespace baimo::constrained {
namespace {

using Stack = std::vector<uint32_t>;

// Output stacks: out[0, n) are live; the vectors past n keep their capacity (no allocation once warm).
struct Stacks {
  std::vector<Stack> out;
  size_t n = 0;
  void add(const Stack& s) {
    if (n == out.size()) out.emplace_back();
    out[n++].assign(s.begin(), s.end());
  }
};

struct Scratch {
  Stacks out;
  Stack st;
};

// Expands st until every stack's top is a Char (or the stack is empty) and appends the results.
void expand(const Grammar& g, Stack& st, Stacks& out) {
  if (st.empty()) {
    out.add(st);
    return;
  }
  const uint32_t pos = st.back();
  const Elem& e = g.elems[pos];
  if (e.kind == Elem::Char) {
    out.add(st);
    return;
  }
  st.pop_back();
  if (e.kind == Elem::End) {
    expand(g, st, out);
  } else {
    const bool tail = g.elems[pos + 1].kind == Elem::End;  // nothing after the call: no return address
    if (!tail) st.push_back(pos + 1);
    for (uint32_t alt : g.rules[e.a].alts) {
      st.push_back(alt);
      expand(g, st, out);
      st.pop_back();
    }
    if (!tail) st.pop_back();
  }
  st.push_back(pos);
}

void store(Stacks& stacks, RecognizerState& out) {
  auto b = stacks.out.begin(), e = b + static_cast<ptrdiff_t>(stacks.n);
  if (stacks.n > 1) {
    std::sort(b, e);
    e = std::unique(b, e);  // the duplicates moved past e keep their capacity
  }
  out.flat.clear();
  for (auto it = b; it != e; ++it) {
    out.flat.push_back(static_cast<uint32_t>(it->size()));
    out.flat.insert(out.flat.end(), it->begin(), it->end());
  }
  out.partial = 0;
  out.left = out.len = 0;
}

Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

}  // namespace

size_t RecognizerState::hash() const {
  uint64_t h = 1469598103934665603ull ^ (uint64_t{partial} << 16 | uint64_t{len} << 8 | left);
  for (uint32_t v : flat) h = (h ^ v) * 1099511628211ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

RecognizerState start_state(const Grammar& g) {
  Scratch& sc = scratch();
  sc.out.n = 0;
  for (uint32_t alt : g.rules[g.root].alts) {
    sc.st.assign(1, alt);
    expand(g, sc.st, sc.out);
  }
  RecognizerState s;
  store(sc.out, s);
  return s;
}

bool step_cp(const Grammar& g, const RecognizerState& s, uint32_t cp, RecognizerState& out) {
  Scratch& sc = scratch();
  sc.out.n = 0;
  for (size_t i = 0; i < s.flat.size(); i += 1 + s.flat[i]) {
    const uint32_t depth = s.flat[i];
    if (depth == 0) continue;
    const uint32_t top = s.flat[i + depth];
    if (!g.char_matches(g.elems[top], cp)) continue;
    sc.st.assign(s.flat.begin() + static_cast<ptrdiff_t>(i + 1), s.flat.begin() + static_cast<ptrdiff_t>(i + depth));
    sc.st.push_back(top + 1);
    expand(g, sc.st, sc.out);
  }
  if (sc.out.n == 0) return false;
  store(sc.out, out);
  return true;
}

bool step_byte(const Grammar& g, const RecognizerState& s, uint8_t b, RecognizerState& out) {
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};  // shortest form per length
  uint32_t cp;
  uint8_t left, len;
  if (s.left == 0) {
    if (b < 0x80) return step_cp(g, s, b, out);
    if ((b & 0xE0) == 0xC0) cp = b & 0x1Fu, left = 1;
    else if ((b & 0xF0) == 0xE0) cp = b & 0x0Fu, left = 2;
    else if ((b & 0xF8) == 0xF0) cp = b & 0x07u, left = 3;
    else return false;
    len = static_cast<uint8_t>(left + 1);
  } else {
    if ((b & 0xC0) != 0x80) return false;
    cp = (s.partial << 6) | (b & 0x3Fu);
    left = static_cast<uint8_t>(s.left - 1);
    len = s.len;
    if (left == 0) {
      if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      RecognizerState whole = s;  // the stacks, without the partial bytes
      whole.left = whole.len = 0;
      whole.partial = 0;
      return step_cp(g, whole, cp, out);
    }
  }
  // Still incomplete: live while some top can match a code point starting with these bytes.
  const uint32_t shift = 6u * left, lo = std::max(cp << shift, kMin[len]), hi = std::min((cp << shift) | ((1u << shift) - 1), 0x10FFFFu);
  if (lo > hi) return false;
  bool live = false;
  for (size_t i = 0; i < s.flat.size() && !live; i += 1 + s.flat[i])
    if (s.flat[i] > 0) live = g.char_intersects(g.elems[s.flat[i + s.flat[i]]], lo, hi);
  if (!live) return false;
  out.flat = s.flat;
  out.partial = cp;
  out.left = left;
  out.len = len;
  return true;
}

bool step_bytes(const Grammar& g, RecognizerState& s, std::string_view bytes) {
  RecognizerState cur = s, next;
  for (char c : bytes) {
    if (!step_byte(g, cur, static_cast<uint8_t>(c), next)) return false;
    std::swap(cur, next);
  }
  s = std::move(cur);
  return true;
}

bool accepting(const RecognizerState& s) {
  if (s.left) return false;
  for (size_t i = 0; i < s.flat.size(); i += 1 + s.flat[i])
    if (s.flat[i] == 0) return true;
  return false;
}

bool can_continue(const RecognizerState& s) {
  for (size_t i = 0; i < s.flat.size(); i += 1 + s.flat[i])
    if (s.flat[i] > 0) return true;
  return false;
}

bool grammar_accepts(const Grammar& g, std::string_view text) {
  RecognizerState s = start_state(g);
  return step_bytes(g, s, text) && accepting(s);
}

}  // namespace baimo::constrained
