// Random initialisation of a fresh model, as transformers' _init_weights does it: every matrix and
// the embedding ~ normal(0, initializer_range), biases 0, RMSNorm weights 1.
// Deterministic: the value of element i of parameter P depends only on (seed, P's name, i) -- not
// on the thread count, the parameter order, or which other parameters exist.
#pragma once
#include <cstdint>
#include <span>

#include "baimo/model/param_layout.h"

namespace baimo {

void init_param(const ParamSpec& spec, double initializer_range, uint64_t seed, std::span<float> out);

}  // namespace baimo
