// WordCounter: counts of short byte strings (pre-tokens), for BPE training.
// Contract: an open-addressing hash table whose keys live in one byte arena (no allocation per word);
// add() is amortised O(len); merge_from() adds another counter's counts and empties it (how per-thread
// counters are folded into one). Not thread-safe: give each thread its own counter.
// Iteration order is unspecified; callers that need a canonical order sort (see sorted_entries()).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baimo {

class WordCounter {
 public:
  WordCounter() { rehash(1024); }

  void add(std::string_view word, uint64_t n = 1);
  // Adds every (word, count) of `other`, then clears `other` (keeping its capacity).
  void merge_from(WordCounter& other);
  void clear();

  size_t size() const { return size_; }
  uint64_t total() const { return total_; }  // sum of all counts
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot) + arena_.capacity(); }
  uint64_t count(std::string_view word) const;

  template <class F>  // f(std::string_view word, uint64_t count)
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.count) f(std::string_view(arena_.data() + s.offset, s.len), s.count);
  }
  // (word, count) sorted by word bytes: a canonical order independent of insertion history.
  std::vector<std::pair<std::string_view, uint64_t>> sorted_entries() const;

  static uint64_t hash_bytes(std::string_view s);

 private:
  struct Slot {
    uint64_t hash;
    uint64_t offset;
    uint32_t len;
    uint64_t count;  // 0 = empty slot
  };
  void add_hashed(std::string_view word, uint64_t h, uint64_t n);
  void rehash(size_t capacity);

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
  uint64_t total_ = 0;
  size_t mask_ = 0;
};

}  // namespace baimo
