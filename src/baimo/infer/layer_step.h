// LayerStep: the ONE description of the engine's forward step (embedding, transformer layers, final
// norm), as functions over ranges of the step's rows and of a product's output columns. Both
// execution strategies of Engine::forward call these same functions:
//   - prefill (engine.cpp, op by op): each stage's norm and finish over all rows (parallel over
//     rows), its product through BLAS / weight_matmul_multi, attention through kv_attention;
//   - decode (engine_team.cpp, one parallel region): each stage is one phase of claimable items;
//     its product is a TeamMatmul whose items call finish() on their own column range.
// A layer is kStages stages, in order (pre-norm, as model/transformer.h; rows n, hidden x (n, C)):
//   kQkv     h = rmsnorm(x, attn_norm);  q (n, H*D), k, v (n, KV*D) = h Wq^T, h Wk^T, h Wv^T;
//            finish: + q/k/v bias, rope(q, k) at the row's absolute position, k and v into the KV
//            cache at (layer, slot, position)                     (column ranges of whole heads)
//   kAttend  att (n, H*D) = causal attention of q over the cache  (per (row, kv head))
//   kO       tmp (n, C) = att Wo^T;  finish: x += tmp + o_bias
//   kGateUp  h = rmsnorm(x, mlp_norm);  gate, up (n, F) = h Wg^T, h Wu^T;  finish: gate = silu(gate) * up
//   kDown    tmp (n, C) = gate Wd^T;  finish: x += tmp
// Around the layers: embed (x rows = embedding rows of the ids, dequantized) and head_norm (the
// final rmsnorm of the rows that give logits; the LM head product follows).
// A new architecture knob, adapter or per-row op changes this file (and layer_step.cpp) only.
// Contract:
// - norm(), finish() and attend() open no parallel region and may run concurrently on disjoint
//   rows / columns (finish) or disjoint (row, kv head) items (attend); attend_rows() may fork
//   (kv_attention) when called outside a parallel region.
// - finish() column ranges: multiples of head_dim for kQkv (rope and cache writes see whole
//   heads); any range otherwise. The results do not depend on how rows and columns are split.
// - The normalized rows h are the caller's buffer (the decode team keeps one per thread); row r of
//   the step is h + r * C.
#pragma once
#include <cstdint>

#include "baimo/infer/model_weights.h"
#include "baimo/kernels/decode_ops.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/model/kv_cache.h"

namespace baimo {

// The rows of one forward step and the activation buffers they use (all (rows, width) row-major).
struct StepRows {
  int64_t n = 0;                   // rows (tokens) of the step
  const int32_t* ids = nullptr;    // (n) token ids
  const int32_t* pos = nullptr;    // (n) absolute positions
  const int32_t* slot = nullptr;   // (n) KV-cache slots
  float *x = nullptr;              // (n, C) residual stream
  float *q = nullptr, *att = nullptr;  // (n, H*D)
  float *k = nullptr, *v = nullptr;    // (n, KV*D)
  float *tmp = nullptr;                // (n, C) output of o / down before the residual add
  float *gate = nullptr, *up = nullptr;  // (n, F)
};

// One stage's product: ys[i] (n, ws[i]->rows) = in (n, cols) ws[i]^T.
struct StepProduct {
  const WeightMatrix* ws[3] = {};
  float* ys[3] = {};
  int count = 0;
  const float* in = nullptr;  // nullptr: the stage's normalized rows h
  TeamLayout layout = TeamLayout::Stacked;
  int64_t align = 16;  // output-row granularity of a team item (whole heads for q/k/v)
};

class LayerStep {
 public:
  enum Stage { kQkv, kAttend, kO, kGateUp, kDown, kStages };

  LayerStep(const ModelConfig& c, const LayerWeights& w, int64_t layer, KvCache& cache, const RopeTable& rope,
            const StepRows& rows);

  // The stage's norm weight before its product; nullptr when the stage reads a step buffer.
  const float* norm_weight(Stage s) const;
  // h rows [r0, r1) = rmsnorm(x rows [r0, r1)) with the stage's norm weight (one that has one).
  void norm(Stage s, int64_t r0, int64_t r1, float* h) const;
  // The stage's product (count 0 for kAttend).
  StepProduct product(Stage s) const;
  // Output columns [a, b) of product matrix i (-1: the paired gate/up columns) for rows [r0, r1).
  void finish(Stage s, int i, int64_t a, int64_t b, int64_t r0, int64_t r1) const;
  // Attention of row r for kv head g (its H/KV query heads). scratch: backend().kv_attention_scratch(H/KV, D).
  void attend(int64_t r, int64_t g, float* scratch) const;
  // Attention of rows [r0, r1), every kv head. scratch: that per OpenMP thread.
  void attend_rows(int64_t r0, int64_t r1, float* scratch) const;

 private:
  void finish_qkv(int i, int64_t a, int64_t b, int64_t r0, int64_t r1) const;
  void add_residual(const float* bias, int64_t a, int64_t b, int64_t r0, int64_t r1) const;

  const ModelConfig& c_;
  const LayerWeights& w_;
  int64_t layer_;
  KvCache& cache_;
  const RopeTable& rope_;
  StepRows r_;
  int64_t C_, H_, KV_, D_, Q_, KVD_, F_;
  float eps_;
};

// x rows [r0, r1) = the embedding rows of ids (dequantized from the table's type).
void embed_rows(const ModelWeights& w, const StepRows& rows, int64_t r0, int64_t r1);
// h rows [i0, i1) = final rmsnorm of x row out_rows[i] (the rows that give logits).
void head_norm(const ModelWeights& w, const StepRows& rows, const int32_t* out_rows, int64_t i0, int64_t i1,
               float* h);

}  // namespace baimo
