// seeded_permutation(n, seed): a permutation of 0..n-1 that depends only on (n, seed), the same on
// every platform and standard library (Fisher-Yates over a splitmix64 stream, no std::
// distributions). mix_seed combines two numbers (a seed and an epoch) into one seed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace baimo {

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace baimo
