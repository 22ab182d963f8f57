// Engine: the inference forward pass over a KV cache, batched over several sequences ("slots").
// One forward() call takes chunks of new tokens for several slots at once (decode steps of one token
// and prefill chunks of many, mixed freely) and runs them as one batch: every projection is one
// quant::weight_matmul over all rows of the step; attention reads each row's slot from the KV cache
// (positions 0 .. its own, causal) in one pass with an online softmax.
// Math (per layer, pre-norm, as model/transformer.h): h = rmsnorm(x); q,k,v = h W^T [+ b];
// rope(q, k) at the absolute position; x += attn(q, K, V) Wo^T [+ bo]; x += down(silu(gate) * up);
// logits = rmsnorm(x) lm_head^T.  Logits equal Transformer::logits within float rounding.
// Contract:
// - Chunk tokens are appended at cache().length(slot); after forward() the slot's length grows by
//   their count. A slot appears at most once per call; chunks must be non-empty.
// - logits (resized): one row of vocab floats per chunk (its last token), or one per token when
//   all_logits, in chunk order.  logits rows: (sum of rows, V).
// - Errors (baimo::Error, nothing changed): slot out of range or repeated, empty chunk, id outside
//   the vocabulary, a chunk that would overflow the context (capacity()).
// - Not thread-safe: one thread drives an Engine. No allocation in forward() once warm.
// Threads: a step with less work than parallel_macs() multiply-adds runs on the calling thread.
// Both execution strategies run the same step functions (layer_step.h: one description of the
// embedding, each layer's stages and the final norm), over different row / column ranges:
// steps of fewer than backend().team_step_rows() rows (decode: 32 on AVX-512 CPUs, else 16) run in
// ONE OpenMP parallel region (engine_team.cpp) as a chain of phases whose work items any thread
// claims (no barriers): the products share their
// output rows out (kernels/team_matmul.h) and the stage's per-row work (bias, rope, KV writes,
// residual adds, SwiGLU) is fused into their items; larger steps (prefill) run stage by stage
// (engine.cpp), each product parallel on its own (f32 products through BLAS), the per-row work
// parallel over rows.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "baimo/infer/layer_step.h"
#include "baimo/infer/model_weights.h"
#include "baimo/kernels/decode_ops.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/model/kv_cache.h"

namespace baimo {

// One phase of Engine::forward_team: work items claimed from `next`, counted in `done` (a futex
// word: waiters that stop spinning sleep on it, counted in `sleepers`).
struct alignas(64) TeamPhase {
  std::atomic<int64_t> next{0};
  std::atomic<int32_t> done{0};
  std::atomic<int32_t> sleepers{0};
  int64_t items = 0;
};

class Engine {
 public:
  // ctx: positions per slot (<= max_position_embeddings).
  Engine(std::shared_ptr<const ModelWeights> weights, int n_slots, int64_t ctx);

  struct Chunk {
    int slot;
    std::span<const int32_t> tokens;
    bool all_logits = false;
  };
  void forward(std::span<const Chunk> chunks, std::vector<float>& logits);

  KvCache& cache() { return cache_; }
  const KvCache& cache() const { return cache_; }
  const ModelConfig& config() const { return w_->config; }
  const ModelWeights& weights() const { return *w_; }
  int n_slots() const { return cache_.n_slots(); }
  int64_t ctx() const { return cache_.capacity(); }
  // The thread threshold above (default 8M multiply-adds); tests set 0 to run tiny models threaded.
  int64_t parallel_macs() const { return parallel_macs_; }
  void set_parallel_macs(int64_t macs) { parallel_macs_ = macs; }

 private:
  void check(std::span<const Chunk> chunks);
  void reserve(int64_t rows, int64_t out_rows);
  // The step's rows and buffers as layer_step.h takes them (after reserve()).
  StepRows step_rows(int64_t n);
  // Steps of backend().team_step_rows() (32 or 16) rows or more: op by op, each op parallel on its own.
  void forward_ops(int64_t n, int64_t m, std::vector<float>& logits);
  // The whole step (fewer rows than that, m logits rows) in one parallel region; see engine_team.cpp.
  void forward_team(int64_t n, int64_t m, std::vector<float>& logits);
  // Plans forward_team's products and phases for (n, m, threads) unless the last plan was for them.
  void plan_team(int64_t n, int64_t m, int threads);

  std::shared_ptr<const ModelWeights> w_;
  KvCache cache_;
  // Per-step buffers, grown only (rows = tokens of the step).
  std::vector<int32_t> ids_, pos_, row_slot_, out_rows_;
  std::vector<char> slot_seen_;
  std::vector<float> x_, h_, q_, k_, v_, att_, tmp_, gate_, up_, scratch_;
  // Per-thread part of forward_team: normalized rows (rows, C) per thread.
  std::vector<float> team_h_;
  RopeTable rope_;  // positions 0 .. ctx-1
  std::vector<TeamMatmul> team_mm_;  // per layer q/k/v, o, gate/up, down; then the LM head
  std::unique_ptr<TeamPhase[]> team_phases_;
  size_t team_phases_n_ = 0;
  int64_t team_key_[3] = {-1, -1, -1};  // (n, m, threads) of the plan; -1 after buffers moved
  int64_t rows_cap_ = 0;
  int64_t parallel_macs_ = int64_t{8} << 20;
};

}  // namespace baimo
