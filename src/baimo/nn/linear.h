// Linear layer: y = x W^T + b with W (out, in) as torch.nn.Linear stores it, b optional.
// The layer holds handles to parameter Vars owned by the model; forward records on the tape.
// Frozen base: when `frozen` is defined (rows or a packed copy), W is that frozen matrix
// (F32/F16/BF16/Q8_0/Q4_0, bytes owned by the model) instead of `weight`, and the product is
// ag::linear_frozen (gradients flow through W to x, never into W).
// An attached LoRA branch (model/lora.h; Transformer::attach_lora sets it) adds
// scaling * dropout(x) A^T B^T, fused with the base product in one op (ag::lora_linear over an f32
// weight, ag::lora_linear_frozen over a frozen one): one output tensor per layer.
#pragma once
#include <cstdint>

#include "baimo/autograd/ops.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo::nn {

// The LoRA branch of a Linear: handles to an adapter's A and B, and this forward's dropout.
struct LoraBranch {
  ag::Var a;                   // (r, in); undefined = no adapter attached
  ag::Var b;                   // (out, r)
  float scaling = 0.f;         // alpha / r or alpha / sqrt(r)
  float dropout = 0.f;         // dropout probability of this forward (0: off, e.g. eval)
  uint64_t dropout_seed = 0;   // mask seed of this layer and target
  bool attached() const { return a.defined(); }
};

struct Linear {
  ag::Var weight;       // (out, in); undefined when frozen is set
  ag::Var bias;         // (out) or undefined
  WeightMatrix frozen;  // (out, in) frozen base weight, or undefined
  LoraBranch lora;
  // x: (..., in) -> (..., out)
  ag::Var operator()(const ag::Var& x) const {
    if (!lora.attached()) return base(x);
    if (frozen.defined())
      return ag::lora_linear_frozen(x, frozen, bias, lora.a, lora.b, lora.scaling, lora.dropout, lora.dropout_seed);
    return ag::lora_linear(x, weight, bias, lora.a, lora.b, lora.scaling, lora.dropout, lora.dropout_seed);
  }
  // The base product alone (the frozen or the f32 weight).
  ag::Var base(const ag::Var& x) const {
    return frozen.defined() ? ag::linear_frozen(x, frozen, bias) : ag::linear(x, weight, bias);
  }
};

}  // namespace baimo::nn
