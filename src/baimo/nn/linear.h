// Linear layer: y = x W^T + b with W (out, in) as torch.nn.Linear stores it, b optional.
// The layer holds handles to parameter Vars owned by the model; forward records on the tape.
// Frozen base: when `frozen` is defined (rows or a packed copy), W is that frozen matrix
// (F32/F16/BF16/Q8_0/Q4_0, bytes owned by the model) instead of `weight`, and the product is
// ag::linear_frozen (gradients flow through W to x, never into W). base() is that product alone,
// for layers that add a branch (LoRA) on top of it.
#pragma once
#include "baimo/autograd/ops.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo::nn {

struct Linear {
  ag::Var weight;  // (out, in); undefined when frozen is set
  ag::Var bias;    // (out) or undefined
  WeightMatrix frozen;  // (out, in) frozen base weight, or undefined
  // x: (..., in) -> (..., out)
  ag::Var operator()(const ag::Var& x) const { return base(x); }
  // The base product alone (the frozen or the f32 weight).
  ag::Var base(const ag::Var& x) const {
    return frozen.defined() ? ag::linear_frozen(x, frozen, bias) : ag::linear(x, weight, bias);
  }
};

}  // namespace baimo::nn
