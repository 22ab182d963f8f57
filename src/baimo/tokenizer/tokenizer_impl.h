// Internal: the data behind Tokenizer (shared by tokenizer.cpp, the loaders and the saver).
// - tokens[id]: raw bytes; flags[id]: kUnused / kNormal / kAdded (| kSpecial).
// - token_ids: normal-token bytes -> id (open addressing, keys are views into `tokens`).
// - pairs: (left id, right id) -> (rank, merged id), the BPE merge table.
// - merge_list: merges in rank order when known (tokenizer.json, GGUF, from_bpe); empty for
//   tiktoken files (ranks come from the merged token's rank).
// Builders fill tokens/flags/added/merge_list (or pairs directly) and call finalize(), which checks
// invariants (every byte is a token, merges produce tokens, ids distinct) and builds the tables.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

// Ids may leave gaps (unused ids), but not arbitrarily wide ones: a file of a few tokens naming id
// 60,000,000 would otherwise allocate gigabytes of empty entries. Every id must be below
// id_limit(number of entries the file defines); loaders fail naming the field otherwise.
constexpr uint64_t kMaxIdGap = uint64_t{1} << 20;
inline uint64_t id_limit(uint64_t entries) { return entries + kMaxIdGap; }

inline uint64_t hash_bytes_fast(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    h = (h ^ v) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  __builtin_memcpy(&v, p, n);
  h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  return h;
}

// bytes -> id for the normal tokens.
class TokenIndex {
 public:
  void build(const std::vector<std::string>& tokens, const std::vector<uint8_t>& flags, uint8_t want);
  // kMissing if absent. Slots hold (hash high bits << 32 | id) so that most misses never touch
  // the token bytes.
  uint32_t find(std::string_view s) const {
    if (slots_.empty()) return kMissing;
    uint64_t h = hash_bytes_fast(s);
    size_t i = h & mask_;
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    while (true) {
      uint64_t e = slots_[i];
      if (e == kEmptySlot) return kMissing;
      if (static_cast<uint32_t>(e >> 32) == tag) {
        uint32_t id = static_cast<uint32_t>(e);
        const std::string& t = (*tokens_)[id];
        if (t.size() == s.size() && std::memcmp(t.data(), s.data(), s.size()) == 0) return id;
      }
      i = (i + 1) & mask_;
    }
  }
  static constexpr uint32_t kMissing = 0xFFFFFFFFu;

 private:
  const std::vector<std::string>* tokens_ = nullptr;
  static constexpr uint64_t kEmptySlot = ~0ull;
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

// (left, right) -> (rank, merged)
class PairTable {
 public:
  struct Entry {
    uint64_t key;
    uint32_t rank;
    uint32_t merged;
  };
  void reserve(size_t n);
  // Returns false if the pair was already present (keeps the lower rank).
  bool insert(uint32_t left, uint32_t right, uint32_t rank, uint32_t merged);
  const Entry* find(uint32_t left, uint32_t right) const {
    uint64_t key = (uint64_t(left) << 32) | right;
    size_t i = mix(key) & mask_;
    while (true) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e;
      if (e.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return k;
  }
  std::vector<Entry> slots_{Entry{kEmpty, 0, 0}};
  size_t mask_ = 0, size_ = 0;
};

enum TokenFlag : uint8_t { kUnused = 0, kNormal = 1, kAdded = 2, kSpecialFlag = 4 };

struct Tokenizer::Impl {
  std::string name;
  PreTokenizerKind kind = PreTokenizerKind::Cl100k;
  Normalizer normalizer = Normalizer::None;
  bool whole_piece_lookup = false;
  std::vector<std::string> tokens;
  std::vector<uint8_t> flags;
  std::vector<AddedToken> added;
  std::vector<std::pair<uint32_t, uint32_t>> merge_list;
  std::optional<uint32_t> bos, eos;
  bool add_bos = false;  // see Tokenizer::add_bos()

  // built by finalize()
  uint64_t instance_id = 0;
  TokenIndex token_ids;
  PairTable pairs;
  uint32_t byte_token[256] = {};
  std::vector<std::vector<uint32_t>> added_by_first_byte;  // indices into `added`, longest first
  bool added_first_byte[256] = {};
  bool has_special_first_byte = false;
  bool has_plain_added = false;  // some added token is non-special (recognised even in AsText mode)

  // Sets tokens/flags for added tokens, checks invariants, builds the tables. If pairs_from_ranks,
  // the merge table comes from token ranks (tiktoken: rank = id); else from merge_list.
  void finalize(bool pairs_from_ranks);
  // Merges of a tiktoken-style vocabulary in rank order (for saving as tokenizer.json).
  std::vector<std::pair<uint32_t, uint32_t>> derive_merges() const;
};

}  // namespace baimo
