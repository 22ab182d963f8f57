// One pre-norm decoder block:
//   h = x + attn(input_layernorm(x));  y = h + mlp(post_attention_layernorm(h))
#pragma once
#include <vector>

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
  // Every defined Var the block reads (norm weights, weights, biases, LoRA A and B).
  std::vector<ag::Var> vars() const {
    std::vector<ag::Var> v{input_layernorm.weight, post_attention_layernorm.weight};
    for (const Linear* l : {&self_attn.q_proj, &self_attn.k_proj, &self_attn.v_proj, &self_attn.o_proj,
                            &mlp.gate_proj, &mlp.up_proj, &mlp.down_proj})
      for (const ag::Var& x : {l->weight, l->bias, l->lora.a, l->lora.b})
        if (x.defined()) v.push_back(x);
    return v;
  }
};

}  // namespace baimo::nn
