// Grouped-query causal self-attention with rotary positions (Llama / Qwen2 / Mistral):
//   q = rope(x Wq^T [+ bq]), k = rope(x Wk^T [+ bk]), v = x Wv^T [+ bv]
//   y = attention(q, k, v) Wo^T [+ bo]
// with n_heads query heads sharing n_kv_heads key/value heads (n_heads % n_kv_heads == 0).
// Packed rows: positions restart per document and segments keep attention inside each one.
#pragma once
#include "baimo/nn/linear.h"
#include "baimo/tensor/tensor.h"

namespace baimo::nn {

struct Attention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int64_t n_heads = 0, n_kv_heads = 0;
  float rope_theta = 10000.f;

  // x: (B, T, C), positions: I32 (T) or (B, T) -> (B, T, C). segments: optional I32 (B, T)
  // document ids of packed rows (ag::attention): no attention across documents.
  ag::Var operator()(const ag::Var& x, const Tensor& positions, const Tensor* segments = nullptr) const {
    ag::Var q = ag::rope(q_proj(x), positions, n_heads, rope_theta);     // (B, T, H*D)
    ag::Var k = ag::rope(k_proj(x), positions, n_kv_heads, rope_theta);  // (B, T, KV*D)
    ag::Var v = v_proj(x);                                               // (B, T, KV*D)
    return o_proj(ag::attention(q, k, v, n_heads, n_kv_heads, segments));
  }
};

}  // namespace baimo::nn
