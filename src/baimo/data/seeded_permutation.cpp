#include "baimo/data/seeded_permutation.h"

#include <numeric>
#include <utility>

namespace baimo {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  uint64_t state = seed;
  for (size_t i = n; i > 1; --i) {
    // An index in [0, i): the high 64 bits of a 64x64-bit product (Lemire; bias below 2^-32 for i < 2^32).
    const auto j = static_cast<size_t>((static_cast<unsigned __int128>(splitmix64(state)) * i) >> 64);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
  return splitmix64(s);
}

}  // namespace baimo
