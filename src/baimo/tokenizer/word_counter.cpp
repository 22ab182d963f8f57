#include "baimo/tokenizer/word_counter.h"

#include <algorithm>
#include <cstring>

namespace baimo {

namespace {
inline uint64_t load_tail(const char* p, size_t n) {  // n < 8 bytes, little-endian
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}
inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a ^ 0x9E3779B97F4A7C15ull) * (b ^ 0xD6E8FEB86659FD93ull);
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
}  // namespace

uint64_t WordCounter::hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x243F6A8885A308D3ull ^ n;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = mix(h, v);
    p += 8;
    n -= 8;
  }
  h = mix(h, load_tail(p, n) ^ (static_cast<uint64_t>(n) << 56));
  return h;
}

void WordCounter::rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{0, 0, 0, 0});
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (!s.count) continue;
    size_t i = s.hash & mask_;
    while (slots_[i].count) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void WordCounter::add(std::string_view word, uint64_t n) { add_hashed(word, hash_bytes(word), n); }

void WordCounter::add_hashed(std::string_view word, uint64_t h, uint64_t n) {
  if (n == 0) return;
  total_ += n;
  size_t i = h & mask_;
  while (true) {
    Slot& s = slots_[i];
    if (!s.count) break;
    if (s.hash == h && s.len == word.size() &&
        std::memcmp(arena_.data() + s.offset, word.data(), word.size()) == 0) {
      s.count += n;
      return;
    }
    i = (i + 1) & mask_;
  }
  slots_[i] = Slot{h, arena_.size(), static_cast<uint32_t>(word.size()), n};
  arena_.append(word);
  if (++size_ * 10 > slots_.size() * 7) rehash(slots_.size() * 2);
}

void WordCounter::merge_from(WordCounter& other) {
  for (const Slot& s : other.slots_)
    if (s.count) add_hashed(std::string_view(other.arena_.data() + s.offset, s.len), s.hash, s.count);
  other.clear();
}

void WordCounter::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{0, 0, 0, 0});
  arena_.clear();
  size_ = 0;
  total_ = 0;
}

uint64_t WordCounter::count(std::string_view word) const {
  uint64_t h = hash_bytes(word);
  size_t i = h & mask_;
  while (slots_[i].count) {
    const Slot& s = slots_[i];
    if (s.hash == h && s.len == word.size() &&
        std::memcmp(arena_.data() + s.offset, word.data(), word.size()) == 0)
      return s.count;
    i = (i + 1) & mask_;
  }
  return 0;
}

std::vector<std::pair<std::string_view, uint64_t>> WordCounter::sorted_entries() const {
  std::vector<std::pair<std::string_view, uint64_t>> out;
  out.reserve(size_);
  for_each([&](std::string_view w, uint64_t c) { out.emplace_back(w, c); });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace baimo
