// RMSNorm layer: y = x / sqrt(mean(x^2) + eps) * weight over the last dim.
#pragma once
#include "baimo/autograd/ops.h"

namespace baimo::nn {

struct RMSNorm {
  ag::Var weight;  // (C)
  float eps = 1e-6f;
  // x: (..., C) -> (..., C)
  ag::Var operator()(const ag::Var& x) const { return ag::rmsnorm(x, weight, eps); }
};

}  // namespace baimo::nn
