// TokenTrie: the prefix tree of a tokenizer's normal tokens' bytes, so that a walk against a
// recognizer checks each shared prefix once (token_mask in constraint.h).
// Contract: nodes[0] is the root (empty prefix); a node's children are the contiguous run
// nodes[child_begin, child_end), sorted by byte; the ids of the tokens whose bytes end exactly at a
// node are ids[id_begin, id_end). Added (special) tokens and unused ids are left out: they are not
// text. for_tokenizer() builds one trie per vocabulary and shares it (thread-safe; keyed by a hash of
// every token's bytes and kind, so another tokenizer at a freed one's address never gets its trie;
// held while any user holds it).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo::constrained {

struct TokenTrie {
  struct Node {
    uint32_t child_begin = 0, child_end = 0;
    uint32_t id_begin = 0, id_end = 0;
    uint8_t byte = 0;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> ids;
  size_t vocab_size = 0;  // the tokenizer's
  size_t max_depth = 0;   // the longest token, in bytes

  explicit TokenTrie(const Tokenizer& tok);
  static std::shared_ptr<const TokenTrie> for_tokenizer(const Tokenizer& tok);
};

}  // namespace baimo::constrained
