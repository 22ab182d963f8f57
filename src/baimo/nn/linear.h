// Linear layer: y = x W^T + b with W (out, in) as torch.nn.Linear stores it, b optional.
// The layer holds handles to parameter Vars owned by the model; forward records on the tape.
#pragma once
#include "baimo/autograd/ops.h"

namespace baimo::nn {

struct Linear {
  ag::Var weight;  // (out, in)
  ag::Var bias;    // (out) or undefined
  // x: (..., in) -> (..., out)
  ag::Var operator()(const ag::Var& x) const { return ag::linear(x, weight, bias); }
};

}  // namespace baimo::nn
