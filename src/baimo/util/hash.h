// Small deterministic hashes for seeded, platform-independent randomness (initialisation, data order,
// adapter init, dropout seeds): splitmix64 (Steele et al.'s finaliser over a Weyl step) and 64-bit
// FNV-1a of a string. Their values are part of the checkpoint/resume contract: never change them.
#pragma once
#include <cstdint>
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

}  // namespace baimo
