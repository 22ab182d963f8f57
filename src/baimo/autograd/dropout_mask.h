// Counter-based dropout mask: whether element `index` survives dropout with probability p under
// `seed`. A pure function of (seed, index) -- no RNG state to store, save or resume -- so a backward
// pass recomputes the forward's mask exactly. keep <=> u(seed, index) >= p with u uniform on [0, 1)
// (24-bit resolution, from splitmix64); survivors are scaled by 1 / (1 - p) (inverted dropout).
#pragma once
#include <cstdint>

namespace baimo::ag {

inline uint64_t dropout_hash(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The threshold for p in 24-bit units: keep <=> (hash >> 40) >= dropout_threshold(p).
inline uint32_t dropout_threshold(float p) { return static_cast<uint32_t>(static_cast<double>(p) * 16777216.0); }

inline bool dropout_keep(uint64_t seed, uint64_t index, uint32_t threshold) {
  return static_cast<uint32_t>(dropout_hash(seed ^ dropout_hash(index)) >> 40) >= threshold;
}

}  // namespace baimo::ag
