// Small deterministic hashes for seeded, platform-independent randomness (initialisation, data order,
// adapter init, dropout seeds): splitmix64 (Steele et al.'s finaliser over a Weyl step) and 64-bit
// FNV-1a of a string. Their values are part of the checkpoint/resume contract: never change them.
// Hash64: a 64-bit hash of a byte stream for fingerprints and checksums of files (teacher caches), not
// for security: four lanes of splitmix64 over the stream's little-endian 8-byte words (32-byte blocks),
// the zero-padded tail and the length folded in at the end; any split of the stream into update() calls
// gives the same digest. Its values are part of the teacher cache format: never change them either.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace baimo {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class Hash64 {
 public:
  explicit Hash64(uint64_t seed = 0) {
    for (uint64_t i = 0; i < 4; ++i) lane_[i] = splitmix64(seed ^ (0x68617368ull + i));
  }
  void update(const void* data, size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    total_ += n;
    if (fill_ > 0) {
      const size_t take = n < 32 - fill_ ? n : 32 - fill_;
      std::memcpy(buf_ + fill_, b, take);
      fill_ += take;
      b += take;
      n -= take;
      if (fill_ < 32) return;
      block(lane_, buf_);
      fill_ = 0;
    }
    for (; n >= 32; b += 32, n -= 32) block(lane_, b);
    std::memcpy(buf_, b, n);
    fill_ = n;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  uint64_t digest() const {
    uint64_t l[4] = {lane_[0], lane_[1], lane_[2], lane_[3]};
    if (fill_ > 0) {
      unsigned char tail[32] = {};
      std::memcpy(tail, buf_, fill_);
      block(l, tail);
    }
    uint64_t h = splitmix64(total_);
    for (uint64_t x : l) h = splitmix64(h ^ x);
    return h;
  }

 private:
  static void block(uint64_t* lane, const unsigned char* b) {
    for (int i = 0; i < 4; ++i) {
      uint64_t w;
      std::memcpy(&w, b + 8 * i, 8);
      lane[i] = splitmix64(lane[i] ^ w);
    }
  }
  uint64_t lane_[4];
  unsigned char buf_[32] = {};
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

}  // namespace baimo
