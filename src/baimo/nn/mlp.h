// SwiGLU feed-forward: y = down(silu(gate(x)) * up(x)), no biases (Llama / Qwen2 / Mistral).
#pragma once
#include "baimo/nn/linear.h"

namespace baimo::nn {

struct SwiGLUMlp {
  Linear gate_proj, up_proj, down_proj;  // (F, C), (F, C), (C, F)
  // x: (B, T, C) -> (B, T, C)
  ag::Var operator()(const ag::Var& x) const { return down_proj(ag::swiglu(gate_proj(x), up_proj(x))); }
};

}  // namespace baimo::nn
