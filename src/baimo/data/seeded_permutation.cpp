#include "baimo/data/seeded_permutation.h"

#include <numeric>
#include <utility>

#include "baimo/util/hash.h"

namespace baimo {
namespace {

// The splitmix64 generator: one output per call, advancing the Weyl state (util/hash.h's splitmix64
// is its output for a given state).
uint64_t splitmix64_next(uint64_t& state) {
  const uint64_t x = state;
  state += 0x9e3779b97f4a7c15ULL;
  return splitmix64(x);
}

}  // namespace

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  uint64_t state = seed;
  for (size_t i = n; i > 1; --i) {
    // An index in [0, i): the high 64 bits of a 64x64-bit product (Lemire; bias below 2^-32 for i < 2^32).
    const auto j = static_cast<size_t>((static_cast<unsigned __int128>(splitmix64_next(state)) * i) >> 64);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
  return splitmix64_next(s);
}

}  // namespace baimo
