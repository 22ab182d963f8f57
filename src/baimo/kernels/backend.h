// Backend: the compute kernels behind every autograd op and every inference op, on raw contiguous
// buffers: one interface for training and inference alike.
// Contract:
// - Models, trainers and the inference engine never call kernels directly; autograd ops and the
//   engine call backend().<kernel>. `cpu` (kernels/cpu/) is the only backend now; a `cuda` one
//   implements the same interface (pointers are then device pointers) without touching models,
//   trainers or the engine.
// - Every *_bwd kernel takes `accumulate`: false => overwrite the gradient buffer (it may hold
//   garbage), true => add into it. Parameter gradients (dW, db, dw) are always accumulated when
//   `accumulate` is true, the same rule.
// - Shapes are given as sizes; all buffers are contiguous row-major.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "baimo/kernels/kv_view.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo {

enum class UnaryOp : int { Exp, LogSigmoid, Neg, Scale, AddScalar, Clamp, Relu, Log1mExp };
enum class BinaryOp : int { Add, Sub, Mul, Min, Max };
struct UnaryArgs {  // scalars for the unary ops that take them
  float scale = 1.f;       // Scale: y = scale * x; AddScalar: y = x + scale
  float lo = 0.f, hi = 0.f;  // Clamp: y = min(max(x, lo), hi); gradient 0 outside [lo, hi]
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // C(M,N) = alpha * op(A) op(B) + beta * C, row-major; op = transpose when trans_x.
  virtual void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc) = 0;

  // Embedding. W: (V, C), ids: (n), out: (n, C). Bad ids (outside [0, V)) are checked by the op.
  virtual void embedding_fwd(const float* W, const int32_t* ids, int64_t n, int64_t C,
                             float* out) = 0;
  // dW (V, C) += scatter of dout rows by ids (always accumulates; deterministic order).
  virtual void embedding_bwd(const float* dout, const int32_t* ids, int64_t n, int64_t C,
                             int64_t V, float* dW) = 0;

  // RMSNorm over the last dim. x, y: (rows, C), w: (C), rstd: (rows) saved for backward.
  virtual void rmsnorm_fwd(const float* x, const float* w, int64_t rows, int64_t C, float eps,
                           float* y, float* rstd) = 0;
  // dx (rows, C) (overwrite or accumulate), dw (C) (+= when accumulate_w else overwrite).
  virtual void rmsnorm_bwd(const float* dy, const float* x, const float* w, const float* rstd,
                           int64_t rows, int64_t C, float* dx, bool accumulate_x, float* dw,
                           bool accumulate_w) = 0;

  // Rotary embedding, rotate_half convention: for each head, pairs (i, i + D/2), angle
  // pos * theta^(-2i/D). x, y: (B, T, H, D); pos: (B, T). inverse=true applies the transpose
  // rotation (the backward). y may alias x. When accumulate, y += rotated x.
  virtual void rope(const float* x, const int32_t* pos, int64_t B, int64_t T, int64_t H, int64_t D,
                    float theta, bool inverse, float* y, bool accumulate) = 0;

  // Causal grouped-query attention, softmax scale 1/sqrt(D). q: (B, T, Hq, D),
  // k, v: (B, T, Hkv, D) with Hq % Hkv == 0 (query head h reads kv head h / (Hq / Hkv)).
  // segments: nullptr (plain causal) or (B, T) document ids of packed rows, non-decreasing
  // along each row: query t then attends key j iff j <= t and segments[b, j] == segments[b, t],
  // and key blocks before a query block's first document are skipped (a packed row costs less).
  // out: (B, T, Hq, D); lse: (B, Hq, T) log-sum-exp of the scaled scores, saved for backward.
  // Memory beyond the inputs/outputs: one block of scores per thread.
  virtual void attention_fwd(const float* q, const float* k, const float* v, const int32_t* segments,
                             int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t D, float* out,
                             float* lse) = 0;
  // Recomputes the probabilities from q, k and lse; segments as given to attention_fwd.
  // dq, dk, dv as in the contract above.
  virtual void attention_bwd(const float* dout, const float* q, const float* k, const float* v,
                             const float* out, const float* lse, const int32_t* segments, int64_t B,
                             int64_t T, int64_t Hq, int64_t Hkv, int64_t D, float* dq, float* dk,
                             float* dv, bool accumulate_q, bool accumulate_k, bool accumulate_v) = 0;

  // SwiGLU: out = silu(gate) * up, all (n).
  virtual void swiglu_fwd(const float* gate, const float* up, int64_t n, float* out) = 0;
  virtual void swiglu_bwd(const float* dout, const float* gate, const float* up, int64_t n,
                          float* dgate, float* dup, bool accumulate_gate, bool accumulate_up) = 0;

  // Log-softmax statistics over rows of logits (N, V): lse[r] = log sum exp logits[r, :].
  // If targets is non-null, picked[r] = logits[r, targets[r]] - lse[r] (0 where target == ignore).
  virtual void logsoftmax_rows(const float* logits, const int32_t* targets, int64_t N, int64_t V,
                               int32_t ignore_index, float* lse, float* picked) = 0;
  // dlogits[r, :] (+)= coef[r] * (softmax(logits[r]) - onehot(targets[r])); rows with
  // target == ignore_index get 0 (or nothing added). coef: (N).
  virtual void logsoftmax_pick_bwd(const float* logits, const int32_t* targets, const float* lse,
                                   const float* coef, int64_t N, int64_t V, int32_t ignore_index,
                                   float* dlogits, bool accumulate) = 0;
  // One column tile of that gradient, in place: x (N, n) holds columns [col0, col0 + n) of the logits
  // rows, lse the log-sum-exp of the whole rows. x[r, j] = coef[r] * (exp(x[r, j] - lse[r]) -
  // [targets[r] == col0 + j]); rows with target == ignore_index become 0 (autograd lm_head_loss).
  virtual void logsoftmax_tile_bwd(float* x, const int32_t* targets, const float* lse, const float* coef, int64_t N,
                                   int64_t n, int64_t col0, int32_t ignore_index) = 0;

  // Elementwise ops over n values.
  virtual void unary(UnaryOp op, const UnaryArgs& args, const float* x, int64_t n, float* y) = 0;
  // dx (+)= dy * dy/dx, given x and the forward output y.
  virtual void unary_bwd(UnaryOp op, const UnaryArgs& args, const float* x, const float* y,
                         const float* dy, int64_t n, float* dx, bool accumulate) = 0;
  virtual void binary(BinaryOp op, const float* a, const float* b, int64_t n, float* y) = 0;
  // da (+)= dy * dy/da, db (+)= dy * dy/db; da or db may be null (not needed).
  virtual void binary_bwd(BinaryOp op, const float* a, const float* b, const float* dy, int64_t n,
                          float* da, bool accumulate_a, float* db, bool accumulate_b) = 0;
  // dst (+)= alpha * src over n values (gradient plumbing).
  virtual void axpy(float alpha, const float* src, int64_t n, float* dst, bool accumulate) = 0;
  // Sums: returns sum of x (double accumulation), or sum of x*mask when mask is non-null.
  virtual double sum(const float* x, const float* mask, int64_t n) = 0;
  // Column sums: db (N) (+)= sum over rows of dy (M, N) (bias gradient).
  virtual void sum_rows(const float* dy, int64_t M, int64_t N, float* db, bool accumulate) = 0;

  // ---- Inference ops (the engine's) ----
  // Load time: when the backend reads w faster in a layout of its own (the CPU: Q8_0 / Q4_0 in
  // 16-row groups, kernels/cpu/weight_pack.h), makes that copy, points w.packed at it and returns
  // its owner (keep it as long as w is used); otherwise returns null and leaves w as it is.
  // A Q8_0_S24 (2:4 compact) matrix must come out packed: the backend may turn it into another type
  // with the same products (the CPU without VBMI: packed dense Q8_0, data = nullptr).
  virtual std::shared_ptr<const void> pack_weights(WeightMatrix& w) = 0;
  // y (batch, w.rows) = x (batch, w.cols) W^T for W in any inference storage type
  // (kernels/weight_matrix.h). Quantized weights: x is quantized on the fly to int8 blocks and each
  // block product is an exact integer dot. baimo::Error for an unsupported type or cols not a
  // multiple of the block size. One parallel region per call.
  virtual void weight_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y) = 0;
  // ys[i] = x ws[i]^T for matrices that read the same input (q/k/v; gate/up): the same results as
  // weight_matmul on each, in one pass where the backend can (one quantization of x, one region).
  virtual void weight_matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch,
                                   std::span<float* const> ys) = 0;
  // ---- Products through a frozen weight (training over a quantized base, autograd linear_frozen) ----
  // The same y = x W^T in f32 arithmetic on the dequantized weights (no activation quantization):
  // tiles of W dequantized into a small per-thread scratch, then BLAS; never an f32 copy of W.
  // Reads w.data (row layout), or w.packed when data is null (Q8_0 / Q4_0 packed-only).
  virtual void weight_matmul_f32(const WeightMatrix& w, const float* x, int64_t batch, float* y) = 0;
  // The input gradient through W: dx (batch, w.cols) (+)= dy (batch, w.rows) W, tiled likewise.
  virtual void weight_matmul_t(const WeightMatrix& w, const float* dy, int64_t batch, float* dx,
                               bool accumulate) = 0;
  // out (n, w.cols) = the dequantized rows ids[0..n) of W (ids checked by the caller); data or packed.
  virtual void weight_rows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) = 0;
  // The thread-team form of weight_matmul (kernels/team_matmul.h): checks, and plans items.
  virtual void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout) = 0;
  virtual void team_matmul_plan(TeamPlan& plan, std::span<const WeightMatrix* const> ws, std::span<float* const> ys,
                                int64_t batch, TeamLayout layout, int64_t align, int threads) = 0;
  // Steps of fewer rows than this run through the team form (the engine's one-region decode step);
  // larger ones op by op, f32 weights through gemm. The CPU: 32 where its float-weight kernels have
  // AVX-512 register tiles (they beat BLAS, which repacks the weights every call, up to there), else 16.
  virtual int64_t team_step_rows() const { return 16; }

  // Causal attention of new query rows against cached keys/values (decode and chunked prefill).
  // Row r (slot row_slot[r], absolute position row_pos[r]), query head h, kv head h / (H / KV):
  //   out[r, h] = softmax_j (q[r, h] . K[slot, j, kvh] / sqrt(D)) V[slot, j, kvh],  j = 0 .. row_pos[r]
  // The keys/values of every row's own position must already be in kv (one layer, kernels/kv_view.h).
  // q, out: (rows, H*D). scratch: kv_attention_scratch(H / KV, D) floats per OpenMP thread.
  virtual int64_t kv_attention_scratch(int64_t group, int64_t head_dim) = 0;
  virtual void kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos,
                            const KvView& kv, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out,
                            float* scratch) = 0;
  // One (row, kv head) task of kv_attention, single-threaded, for callers inside a thread team:
  // the `group` query heads of kv head kv_head for one row; q, out: that row's (group, D) block.
  // scratch: kv_attention_scratch(group, D) floats. The same results as kv_attention.
  virtual void kv_attention_task(const float* q, int32_t slot, int32_t pos, const KvView& kv, int64_t kv_head,
                                 int64_t group, int64_t head_dim, float* out, float* scratch) = 0;
};

Backend& backend();             // the active backend (cpu unless set)
void set_backend(Backend* b);   // null restores cpu
Backend& cpu_backend();

}  // namespace baimo
