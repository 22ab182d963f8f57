// Differentiable ops (coarse and fused). Each is implemented with its backward beside it in
// autograd/op_<name>.cpp. Outputs are allocated from the thread's activation arena.
// Conventions: shapes in comments; "(..., C)" means any leading dims flattened to rows;
// I32 tensors (token ids, positions, targets) are plain Tensors, not Vars (no gradient).
// Bad shapes or out-of-range ids throw baimo::Error with the op name and the shapes.
#pragma once
#include <cstdint>
#include <optional>

#include "baimo/autograd/var.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo::ag {

// ---- transformer ops ----
// weight: (V, C), ids: I32 (B, T) (or (n)) -> (B, T, C). ids must be in [0, V).
// weight may be any F32 Var, not only a leaf: embedding(reshape(h, {N, C}), rows) gathers rows of
// activations (e.g. the last token's hidden state) with their gradient scattered back.
Var embedding(const Var& weight, const Tensor& ids);
// x: (..., in), weight: (out, in) (Hugging Face layout), bias: (out) or undefined -> (..., out).
Var linear(const Var& x, const Var& weight, const Var& bias = Var());
// Linear layer with a LoRA branch (model/lora.h), fused:
//   y = x W^T [+ b] + scaling * (drop(x) A^T) B^T
// x: (..., in), weight: (out, in), bias: (out) or undefined, a: (r, in), b: (out, r) -> (..., out).
// drop is inverted dropout with probability dropout_p (in [0, 1)) on the LoRA path's input only
// (as PEFT does), its mask a pure function of (dropout_seed, element index) (autograd/dropout_mask.h);
// dropout_p = 0 is the identity and costs nothing. Gradients flow to every input that requires them;
// a frozen weight / bias (requires_grad = false) gets no gradient buffer and no dW GEMM.
// weight and bias undefined: the LoRA term alone (added to a frozen base product by the caller).
Var lora_linear(const Var& x, const Var& weight, const Var& bias, const Var& a, const Var& b, float scaling,
                float dropout_p = 0.f, uint64_t dropout_seed = 0);
// ---- ops over a frozen weight (LoRA / training over a quantized base; no gradient to the weight) ----
// w: (out, in) in F32, F16, BF16, Q8_0 or Q4_0 (kernels/weight_matrix.h), NOT owned: its bytes must
// outlive the tape (the caller's model keeps them). x: (..., in), bias: (out) or undefined -> (..., out).
// Q8_0 / Q4_0 may be held as the packed copy alone (WeightMatrix::defined). Forward: Q8_0 / Q4_0
// with the inference product (Backend::weight_matmul: int8 activation blocks, so y differs from f32
// by the activation quantization, ~1e-2 relative), other types f32 on dequantized tiles (BLAS);
// backward: dx = dy W in f32, W dequantized tile by tile (Backend::weight_matmul_t),
// db when the bias requires grad; never an f32 copy of W, never a dW.
Var linear_frozen(const Var& x, const WeightMatrix& w, const Var& bias = Var());
// table: (V, C) in any WeightMatrix type (not owned, as above), ids: I32 (B, T) (or (n)) -> (B, T, C):
// rows dequantized on lookup; no gradient to the table. ids must be in [0, V).
Var embedding_frozen(const WeightMatrix& table, const Tensor& ids);
// lora_linear over a frozen base weight (any linear_frozen type), fused: y = x W^T [+ b] + scaling *
// (drop(x) A^T) B^T in one output (the base product as linear_frozen computes it); gradients to x
// (through W, tiled), A, B and the bias, never to W.
Var lora_linear_frozen(const Var& x, const WeightMatrix& w, const Var& bias, const Var& a, const Var& b,
                       float scaling, float dropout_p = 0.f, uint64_t dropout_seed = 0);
// x: (..., C), weight: (C) -> y = x / sqrt(mean(x^2) + eps) * weight.
Var rmsnorm(const Var& x, const Var& weight, float eps);
// x: (B, T, H*D) (heads packed in the last dim), positions: I32 (T) or (B, T) -> same shape.
// Llama/Qwen2 rotate_half: pairs (i, i + D/2) rotated by pos * theta^(-2i/D).
Var rope(const Var& x, const Tensor& positions, int64_t n_heads, float theta);
// Causal self-attention with grouped-query heads, scale 1/sqrt(D).
// q: (B, T, Hq*D), k, v: (B, T, Hkv*D) -> (B, T, Hq*D). Fused (flash-style: online softmax over
// key blocks; backward recomputes the probabilities from the saved log-sum-exp).
// segments: optional I32 (B, T) document ids of packed rows, non-decreasing along each row:
// query t attends key j iff j <= t and both are in the same document (nullptr: plain causal).
Var attention(const Var& q, const Var& k, const Var& v, int64_t n_heads, int64_t n_kv_heads,
              const Tensor* segments = nullptr);
// silu(gate) * up, gate, up: same shape.
Var swiglu(const Var& gate, const Var& up);
// a + b, same shape (residual).
Var add(const Var& a, const Var& b);
// Fused log-softmax + cross-entropy. logits: (..., V), targets: I32 with numel = rows.
// Mean over rows whose target != ignore_index -> (1). Targets outside [0, V) other than the
// ignore index are an error. All rows ignored -> loss 0 with zero gradient.
Var cross_entropy(const Var& logits, const Tensor& targets, int32_t ignore_index = -100);

// Token rows (PEFT's trainable tokens, model/lora.h): rows of an embedding / head weight replaced by
// trainable values. ids: I32 (K), distinct; values: (K, C) F32 (row k replaces weight row ids[k]).
// empty() (values undefined): no rows replaced.
struct TokenRows {
  Tensor ids;
  Var values;
  bool empty() const { return !values.defined(); }
};
// x: (..., C), the embedding of ids (..., numel = rows of x) -> x with every row whose id is one of
// rows.ids replaced by its value row. Gradients: dx gets dy of the other rows (0 for replaced ones),
// d(values)[k] the sum of dy over the rows of ids[k].
Var replace_rows(const Var& x, const Tensor& ids, const TokenRows& rows);
// logits: (..., V) = h W^T, h: (..., C) -> logits with column ids[k] = h . values[k] (the head with
// rows ids[k] of W replaced). Gradients: dlogits = dy with those columns 0, dh += dy[:, ids[k]]
// values[k], d(values)[k] = sum_n dy[n, ids[k]] h[n].
Var replace_columns(const Var& logits, const Var& h, const TokenRows& rows);

// Fused LM head + cross-entropy: cross_entropy(linear(h, weight), targets, ignore_index) (resp.
// cross_entropy(linear_frozen(h, w), ...), the same products) without ever holding the (rows, V)
// logits or their gradient: rows whose target != ignore_index are processed in chunks of `rows`,
// each against tiles of `cols` vocabulary rows of W (0 = automatic: 512 rows, tiles of ~4 MB of
// logits; cols is rounded up to a multiple of 16). Saves one log-sum-exp per counted row; backward
// recomputes each tile's logits. h: (..., C) F32, weight: (V, C) F32 (gets dW when it requires
// grad) or a frozen WeightMatrix of any type linear_frozen takes (no dW), targets: I32 with numel =
// rows of h, values in [0, V) or ignore_index (anything else is an error, as for cross_entropy).
// -> (1): the mean over counted rows; all rows ignored -> 0 with zero gradient. Deterministic for a
// fixed thread count.
// `rows` (optional): head rows replaced by trainable token rows (replace_columns' semantics, fused:
// their logits are h . values[k]; d(values) is accumulated, W's replaced rows get no gradient).
struct LmHeadChunks {
  int64_t rows = 0;
  int64_t cols = 0;
};
Var lm_head_loss(const Var& h, const Var& weight, const Tensor& targets, int32_t ignore_index = -100,
                 const LmHeadChunks& chunks = {}, const TokenRows& rows = {});
Var lm_head_loss_frozen(const Var& h, const WeightMatrix& w, const Tensor& targets, int32_t ignore_index = -100,
                        const LmHeadChunks& chunks = {}, const TokenRows& rows = {});
// The per-row log-probs through the same fused head: token_logprobs(linear(h, weight), targets)
// (resp. linear_frozen) -> (rows): log_softmax(h W^T)[r, targets[r]], 0 where targets[r] ==
// ignore_index; same chunking, checks and determinism as lm_head_loss (one implementation: the mean
// loss is the case dy_r = -1/count). Backward for any upstream dy (rows): dlogits_r = dy_r (onehot -
// softmax_r), pushed to h (and to weight when it requires grad); ignored rows get no gradient.
Var lm_head_logprobs(const Var& h, const Var& weight, const Tensor& targets, int32_t ignore_index = -100,
                     const LmHeadChunks& chunks = {}, const TokenRows& rows = {});
Var lm_head_logprobs_frozen(const Var& h, const WeightMatrix& w, const Tensor& targets, int32_t ignore_index = -100,
                            const LmHeadChunks& chunks = {}, const TokenRows& rows = {});

// ---- small ops that objectives compose ----
// log_softmax(logits)[r, targets[r]] -> (rows) (shape of targets); 0 where target == ignore.
Var token_logprobs(const Var& logits, const Tensor& targets, int32_t ignore_index = -100);
// sum(x * mask) / sum(mask) -> (1). mask: F32, same numel as x (0/1 or weights). sum(mask)==0 -> 0.
Var masked_mean(const Var& x, const Tensor& mask);
// Masked sum: sum(x * mask) -> (1).
Var masked_sum(const Var& x, const Tensor& mask);
Var log_sigmoid(const Var& x);                  // log(1 / (1 + exp(-x))), stable
Var exp(const Var& x);
Var neg(const Var& x);
Var scale(const Var& x, float s);               // s * x
Var add_scalar(const Var& x, float s);          // x + s
Var clamp(const Var& x, float lo, float hi);    // gradient 0 where clamped
Var relu(const Var& x);                         // max(x, 0); gradient 0 where x <= 0
Var log1m_exp(const Var& x);                    // log(1 - exp(x)), stable; x < 0 (0 -> -inf, > 0 -> NaN)
Var mul(const Var& a, const Var& b);            // same shape
Var sub(const Var& a, const Var& b);            // same shape
Var minimum(const Var& a, const Var& b);        // elementwise min; gradient to the smaller (a on ties)
Var maximum(const Var& a, const Var& b);        // elementwise max; gradient to the larger (a on ties)
Var sum(const Var& x);                          // -> (1)
// Sums per group: x any shape with numel N, groups: I32 with numel N, values in [0, n_groups) or -1
// (left out) -> (n_groups): y[g] = sum of x[i] with groups[i] == g (0 for an empty group), in index
// order; dx[i] = dy[groups[i]] (0 where -1). E.g. the token log-probs of each sequence of packed rows.
Var segment_sum(const Var& x, const Tensor& groups, int64_t n_groups);
Var mean(const Var& x);                         // -> (1)
Var reshape(const Var& x, const Shape& shape);  // same numel, no copy of the value

}  // namespace baimo::ag
