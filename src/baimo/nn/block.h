// One pre-norm decoder block:
//   h = x + attn(input_layernorm(x));  y = h + mlp(post_attention_layernorm(h))
#pragma once
#include "baimo/nn/attention.h"
#include "baimo/nn/mlp.h"
#include "baimo/nn/rmsnorm.h"

namespace baimo::nn {

struct DecoderBlock {
  RMSNorm input_layernorm, post_attention_layernorm;
  Attention self_attn;
  SwiGLUMlp mlp;
  // x: (B, T, C), positions: I32 (T) or (B, T), segments: optional I32 (B, T) (Attention)
  // -> (B, T, C)
  ag::Var operator()(const ag::Var& x, const Tensor& positions, const Tensor* segments = nullptr) const {
    ag::Var h = ag::add(x, self_attn(input_layernorm(x), positions, segments));
    return ag::add(h, mlp(post_attention_layernorm(h)));
  }
};

}  // namespace baimo::nn
