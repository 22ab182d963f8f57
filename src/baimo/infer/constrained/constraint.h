// Constraint: a compiled grammar bound to a tokenizer's vocabulary, and the per-sequence state
// that masks logits with it (constrained decoding).
// - Constraint::from_grammar / from_json_schema / json_object compile once (baimo::Error with the
//   grammar's line:column or the schema's keywords, json_schema.h) and are shared (shared_ptr)
//   by every sequence that uses them; mask() is thread-safe.
// - mask(state): bit i set <=> token i's bytes keep some stack of `state` alive (a token may end
//   inside a UTF-8 character). Computed by walking the TokenTrie (token_trie.h) depth-first against
//   the recognizer, so a shared prefix is stepped once and a dead prefix prunes its whole subtree;
//   cached per recognizer state (up to kMaxCachedMasks states, then the cache starts over). The walk
//   steps through a lazily built byte DFA: recognizer states are interned and each (state, byte)
//   transition is computed once, so a walk over 333k trie nodes is mostly table lookups (the DFA
//   starts over past kMaxDfaStates states).
//   End-of-sequence tokens are not in the mask: the caller allows them only when accepting(state).
// - ConstraintState (one per sequence): apply(logits, end_ids) sets every disallowed logit to -inf
//   (end ids stay as they are when the text so far is accepted, else -inf too) and returns how many
//   tokens remain allowed; advance(bytes) steps the recognizer by a sampled token (false if the
//   token leaves the language: then the state is unchanged); finished() = accepting and no
//   character may follow (generation must end).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "baimo/infer/constrained/grammar.h"
#include "baimo/infer/constrained/recognizer.h"
#include "baimo/infer/constrained/token_trie.h"

namespace baimo::constrained {

inline constexpr size_t kMaxCachedMasks = 4096;
inline constexpr size_t kMaxDfaStates = 1 << 16;

class Constraint {
 public:
  Constraint(Grammar g, const Tokenizer& tok, std::string description);
  static std::shared_ptr<const Constraint> from_grammar(std::string_view gbnf, const Tokenizer& tok,
                                                        const std::string& name = "grammar");
  static std::shared_ptr<const Constraint> from_json_schema(std::string_view schema_json, const Tokenizer& tok);
  static std::shared_ptr<const Constraint> json_object(const Tokenizer& tok);

  const Grammar& grammar() const { return grammar_; }
  const TokenTrie& trie() const { return *trie_; }
  const std::string& description() const { return description_; }
  // (ceil(vocab / 64)) words; see the header comment.
  std::shared_ptr<const std::vector<uint64_t>> mask(const RecognizerState& state) const;
  size_t cached_masks() const;

 private:
  std::vector<uint64_t> compute_mask(const RecognizerState& state) const;
  int32_t intern(const RecognizerState& s) const;  // under dfa_mu_
  int32_t next(int32_t id, uint8_t byte) const;    // under dfa_mu_; -1 = dead

  struct Dfa {
    std::unordered_map<RecognizerState, int32_t, RecognizerStateHash> ids;
    std::vector<RecognizerState> states;
    std::vector<std::array<int32_t, 256>> next;  // -2 unknown, -1 dead
  };

  Grammar grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  std::string description_;
  mutable std::mutex mu_, dfa_mu_;
  mutable Dfa dfa_;
  mutable std::unordered_map<RecognizerState, std::shared_ptr<const std::vector<uint64_t>>, RecognizerStateHash> cache_;
};

class ConstraintState {
 public:
  explicit ConstraintState(std::shared_ptr<const Constraint> c);
  size_t apply(std::span<float> logits, std::span<const int32_t> end_ids) const;
  bool advance(std::string_view token_bytes);
  bool accepting() const { return constrained::accepting(state_); }
  bool finished() const { return accepting() && !can_continue(state_); }
  const RecognizerState& state() const { return state_; }

 private:
  std::shared_ptr<const Constraint> c_;
  RecognizerState state_;
};

}  // namespace baimo::constrained
