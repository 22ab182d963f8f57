// Linear layer: y = x W^T + b with W (out, in) as torch.nn.Linear stores it, b optional.
// The layer holds handles to parameter Vars owned by the model; forward records on the tape.
// An attached LoRA branch (model/lora.h; Transformer::attach_lora sets it) adds
// scaling * dropout(x) A^T B^T in one fused op (ag::lora_linear).
#pragma once
#include <cstdint>

#include "baimo/autograd/ops.h"

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
  ag::Var weight;  // (out, in)
  ag::Var bias;    // (out) or undefined
  LoraBranch lora;
  // x: (..., in) -> (..., out)
  ag::Var operator()(const ag::Var& x) const {
    if (lora.attached())
      return ag::lora_linear(x, weight, bias, lora.a, lora.b, lora.scaling, lora.dropout, lora.dropout_seed);
    return ag::linear(x, weight, bias);
  }
};

}  // namespace baimo::nn
