#include "baimo/tokenizer/bpe_merges.h"

#include <algorithm>
#include <queue>

#include "baimo/util/progress.h"

namespace baimo {

const std::array<uint8_t, 256>& gpt2_byte_order() {
  static const std::array<uint8_t, 256> order = [] {
    std::array<uint8_t, 256> o{};
    std::array<bool, 256> taken{};
    int n = 0;
    auto take = [&](int lo, int hi) {
      for (int b = lo; b <= hi; ++b) o[n++] = static_cast<uint8_t>(b), taken[b] = true;
    };
    take('!', '~');
    take(0xA1, 0xAC);
    take(0xAE, 0xFF);
    for (int b = 0; b < 256; ++b)
      if (!taken[b]) o[n++] = static_cast<uint8_t>(b);
    return o;
  }();
  return order;
}

namespace {

inline uint64_t pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

// Open-addressing map pair key -> dense pair index.
class PairIndex {
 public:
  PairIndex() { grow(1 << 16); }
  // Returns the index for key, creating it (= next_index) when absent; `created` tells which.
  // Index of a key known to be present.
  uint32_t at(uint64_t key) const {
    size_t i = slot_of(key);
    while (keys_[i] != key) i = (i + 1) & mask_;
    return vals_[i];
  }
  uint32_t find_or_add(uint64_t key, uint32_t next_index, bool& created) {
    size_t i = slot_of(key);
    while (keys_[i] != kEmpty) {
      if (keys_[i] == key) {
        created = false;
        return vals_[i];
      }
      i = (i + 1) & mask_;
    }
    keys_[i] = key;
    vals_[i] = next_index;
    created = true;
    if (++size_ * 10 > keys_.size() * 7) grow(keys_.size() * 2);
    return next_index;
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  size_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  void grow(size_t cap) {
    std::vector<uint64_t> ok = std::move(keys_);
    std::vector<uint32_t> ov = std::move(vals_);
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, 0);
    mask_ = cap - 1;
    shift_ = 64 - __builtin_ctzll(cap);
    for (size_t j = 0; j < ok.size(); ++j) {
      if (ok[j] == kEmpty) continue;
      size_t i = slot_of(ok[j]);
      while (keys_[i] != kEmpty) i = (i + 1) & mask_;
      keys_[i] = ok[j];
      vals_[i] = ov[j];
    }
  }
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> vals_;
  size_t size_ = 0, mask_ = 0;
  int shift_ = 0;
};

struct HeapEntry {
  int64_t count;
  uint32_t left, right;
  // std::priority_queue pops the largest: higher count first, then smaller (left, right).
  bool operator<(const HeapEntry& o) const {
    if (count != o.count) return count < o.count;
    if (left != o.left) return left > o.left;
    return right > o.right;
  }
};

class MergeState {
 public:
  explicit MergeState(const std::vector<WordCount>& words) {
    const auto& order = gpt2_byte_order();
    std::array<uint32_t, 256> id_of{};
    for (int i = 0; i < 256; ++i) id_of[order[i]] = i;
    size_t total = 0;
    for (const WordCount& w : words) total += w.bytes.size();
    symbols_.reserve(total);
    word_start_.reserve(words.size());
    word_len_.reserve(words.size());
    word_count_.reserve(words.size());
    for (const WordCount& w : words) {
      if (w.bytes.size() < 2 || w.count == 0) continue;  // no pairs: cannot change any count
      word_start_.push_back(symbols_.size());
      word_len_.push_back(static_cast<uint32_t>(w.bytes.size()));
      word_count_.push_back(static_cast<int64_t>(w.count));
      for (unsigned char c : w.bytes) symbols_.push_back(id_of[c]);
    }
    for (uint32_t w = 0; w < word_len_.size(); ++w) {
      const uint32_t* s = &symbols_[word_start_[w]];
      for (uint32_t i = 0; i + 1 < word_len_[w]; ++i) add_pair(s[i], s[i + 1], word_count_[w], w);
    }
    for (uint32_t p = 0; p < pair_count_.size(); ++p)
      if (pair_count_[p] > 0) heap_.push({pair_count_[p], pair_left_[p], pair_right_[p]});
  }

  // Pops the best live pair; false when none has count >= min_count.
  bool best(int64_t min_count, HeapEntry& out) {
    while (!heap_.empty()) {
      HeapEntry e = heap_.top();
      if (e.count < min_count) return false;
      heap_.pop();
      uint32_t p = index_.at(pair_key(e.left, e.right));
      int64_t now = pair_count_[p];  // the pair exists: it was pushed when it was counted
      if (now == e.count) {
        out = e;
        return true;
      }
      if (now > 0) heap_.push({now, e.left, e.right});
    }
    return false;
  }

  // Replaces every (a, b) by z in the words that hold it, updating counts and the heap.
  void apply(uint32_t a, uint32_t b, uint32_t z) {
    uint32_t p = index_.at(pair_key(a, b));
    std::vector<uint32_t> holders = std::move(pair_words_[p]);
    pair_words_[p] = {};
    touched_.clear();
    for (uint32_t w : holders) merge_in_word(w, a, b, z);
    pair_count_[p] = 0;
    for (uint32_t q : touched_)
      if (pair_count_[q] > 0) heap_.push({pair_count_[q], pair_left_[q], pair_right_[q]});
  }

 private:
  // Counts c more occurrences of pair (a, b) in `word`; returns the pair's index and sets
  // `created` when the pair is new.
  uint32_t add_pair(uint32_t a, uint32_t b, int64_t c, uint32_t word, bool& created) {
    uint32_t p = index_.find_or_add(pair_key(a, b), static_cast<uint32_t>(pair_count_.size()), created);
    if (created) {
      pair_count_.push_back(0);
      pair_left_.push_back(a);
      pair_right_.push_back(b);
      pair_words_.emplace_back();
    }
    pair_count_[p] += c;
    auto& ws = pair_words_[p];
    if (ws.empty() || ws.back() != word) ws.push_back(word);
    return p;
  }
  void add_pair(uint32_t a, uint32_t b, int64_t c, uint32_t word) {
    bool created;
    add_pair(a, b, c, word, created);
  }
  // New pairs (holding z) are added with their word and queued once per merge step.
  void add_new_pair(uint32_t a, uint32_t b, int64_t c, uint32_t word) {
    bool created;
    uint32_t p = add_pair(a, b, c, word, created);
    if (created) touched_.push_back(p);  // every pair holding z is born in this merge step
  }
  void sub_pair(uint32_t a, uint32_t b, int64_t c) {
    pair_count_[index_.at(pair_key(a, b))] -= c;  // stays >= 0; stale heap entries are fixed when popped
  }

  void merge_in_word(uint32_t w, uint32_t a, uint32_t b, uint32_t z) {
    uint32_t* s = &symbols_[word_start_[w]];
    uint32_t n = word_len_[w];
    int64_t c = word_count_[w];
    uint32_t out = 0;
    bool changed = false;
    for (uint32_t i = 0; i < n;) {
      if (i + 1 < n && s[i] == a && s[i + 1] == b) {
        changed = true;
        if (out > 0) {
          uint32_t prev = s[out - 1];
          sub_pair(prev, a, c);
          add_new_pair(prev, z, c, w);
        }
        if (i + 2 < n) {
          uint32_t next = s[i + 2];
          // When next starts another (a, b), that pair's own merge accounts for it below.
          sub_pair(b, next, c);
          add_new_pair(z, next, c, w);
        }
        s[out++] = z;
        i += 2;
      } else {
        s[out++] = s[i++];
      }
    }
    if (changed) word_len_[w] = out;
  }

  std::vector<uint32_t> symbols_;
  std::vector<size_t> word_start_;
  std::vector<uint32_t> word_len_;
  std::vector<int64_t> word_count_;
  PairIndex index_;
  std::vector<int64_t> pair_count_;
  std::vector<uint32_t> pair_left_, pair_right_;
  std::vector<std::vector<uint32_t>> pair_words_;
  std::vector<uint32_t> touched_;
  std::priority_queue<HeapEntry> heap_;
};

}  // namespace

BpeMerges learn_bpe_merges(const std::vector<WordCount>& words, size_t max_merges,
                           uint64_t min_frequency, Progress* progress) {
  BpeMerges r;
  const auto& order = gpt2_byte_order();
  r.token_bytes.reserve(256 + max_merges);
  for (int i = 0; i < 256; ++i) r.token_bytes.emplace_back(1, static_cast<char>(order[i]));
  if (max_merges == 0) return r;
  MergeState st(words);
  int64_t min_count = static_cast<int64_t>(std::max<uint64_t>(min_frequency, 1));
  HeapEntry e;
  while (r.merges.size() < max_merges && st.best(min_count, e)) {
    uint32_t z = static_cast<uint32_t>(r.token_bytes.size());
    r.merges.emplace_back(e.left, e.right);
    r.merge_counts.push_back(static_cast<uint64_t>(e.count));
    r.token_bytes.push_back(r.token_bytes[e.left] + r.token_bytes[e.right]);
    st.apply(e.left, e.right, z);
    if (progress) progress->add(1);
  }
  return r;
}

}  // namespace baimo
