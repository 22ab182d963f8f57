// Recognizer: the pushdown automaton of a Grammar (grammar.h) over UTF-8 bytes.
// A RecognizerState is a set of live stacks; a stack lists grammar element positions, the top
// (last) being the next character element to match; an empty stack means the text so far is a
// complete sentence. Bytes of an incomplete UTF-8 character are held in the state (partial code
// point and the count of bytes still to come); such a state lives only while some stack top can
// still match a code point that starts with those bytes.
// Contract:
// - start(g): the state before any text (root's alternatives expanded).
// - step_byte(g, s, byte, out) -> false when no stack survives (out unspecified); s is not changed.
// - step_cp(g, s, cp, out): one whole code point (s must hold no partial bytes).
// - accepting(s): the text so far is in the language (an empty stack, no partial character);
//   can_continue(s): some stack still expects a character.
// - States are values: == and hash() cover the stacks and the partial character, so they key caches.
// Invariants: stacks are sorted and unique; every non-empty stack's top is a Char element.
// Flat layout: stacks are stored back to back as [depth, pos_0 .. pos_{depth-1}] (pos_{depth-1} = top).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "baimo/infer/constrained/grammar.h"

namespace baimo::constrained {

struct RecognizerState {
  std::vector<uint32_t> flat;  // [depth, positions...] per stack
  uint32_t partial = 0;        // bits of the incomplete UTF-8 character
  uint8_t left = 0;            // its bytes still to come (0: none pending)
  uint8_t len = 0;             // its whole length in bytes (overlong forms are refused)

  bool operator==(const RecognizerState& o) const = default;
  size_t hash() const;
  bool empty() const { return flat.empty(); }
};

RecognizerState start_state(const Grammar& g);
bool step_cp(const Grammar& g, const RecognizerState& s, uint32_t cp, RecognizerState& out);
bool step_byte(const Grammar& g, const RecognizerState& s, uint8_t byte, RecognizerState& out);
// All bytes in turn; false (and s unchanged) if the text leaves the language.
bool step_bytes(const Grammar& g, RecognizerState& s, std::string_view bytes);
bool accepting(const RecognizerState& s);
bool can_continue(const RecognizerState& s);

// Whether the whole text is a sentence of the grammar.
bool grammar_accepts(const Grammar& g, std::string_view text);

struct RecognizerStateHash {
  size_t operator()(const RecognizerState& s) const { return s.hash(); }
};

}  // namespace baimo::constrained
