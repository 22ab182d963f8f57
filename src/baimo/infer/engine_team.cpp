// Engine::forward_team: a decode-size step (fewer than 32 rows) in ONE OpenMP parallel region,
// as a chain of phases whose work items any thread may claim (no barriers):
//   embedding rows | per layer, one phase per stage of layer_step.h: 1. q,k,v (items aligned to
//   heads: bias, rope and the k / v cache writes run in the item) 2. attention (one (row, kv head)
//   per item) 3. o-projection (each item adds its columns, + o bias, into the residual x) 4. gate,up
//   in paired items with SwiGLU in the item 5. down-projection (adds into x) | final norm + LM head.
// The maths of every phase is LayerStep's (the prefill path calls the same functions over all rows);
// this file only schedules it: a product phase is a TeamMatmul whose items call
// LayerStep::finish on their own output columns.
// A thread enters phase p once every item of phase p-1 is done (items of p-1 started only after
// p-2 was done, so all earlier phases are complete too), claims items from the phase's counter
// and counts each finished one. Before its first item of a product phase it does that phase's
// per-thread preparation: rmsnorm into its own h and/or its own quantized copy of the input.
// Why not `omp barrier`: a barrier waits for every thread to arrive; on a loaded machine a thread
// that is descheduled stalls each of the ~5 barriers per layer for a scheduler slice. Here the
// running threads take all the items and only an item in progress on a descheduled thread makes
// them wait (and the region's final join).
// The results equal forward_ops' up to the summation order of f32 float-weight kernels (the same
// step functions and kernels on the same rows).
#include <immintrin.h>
#include <linux/futex.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdint>

#include "baimo/infer/engine.h"
#include "baimo/infer/layer_step.h"
#include "baimo/kernels/backend.h"
#include "baimo/kernels/decode_ops.h"
#include "baimo/kernels/team_matmul.h"

namespace baimo {

namespace {

void futex_wait(std::atomic<int32_t>& word, int32_t expected) {
  static_assert(sizeof(std::atomic<int32_t>) == sizeof(int32_t));
  syscall(SYS_futex, reinterpret_cast<int32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<int32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<int32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

// Waits until every item of phase p is done: spins briefly (the usual case on an idle machine is
// a few microseconds), then sleeps on the counter: a waiter that keeps the CPU, even yielding,
// delays the preempted thread it waits for on a loaded machine. A plain futex: no syscall at all
// for the finisher when nobody sleeps, the usual case. Lost wake-ups are excluded Dekker-style:
// the waiter announces itself in `sleepers` before re-reading `done`; the finisher adds to `done`
// before reading `sleepers` (all seq_cst), and the futex re-checks `done` against the value read.
void wait_done(TeamPhase& p) {
  for (int spins = 0; p.done.load(std::memory_order_acquire) < p.items; ++spins) {
    if (spins < 4000) {
      _mm_pause();
      continue;
    }
    p.sleepers.fetch_add(1);
    const int32_t d = p.done.load();
    if (d < p.items) futex_wait(p.done, d);
    p.sleepers.fetch_sub(1);
  }
}

// Runs phase p's items that this thread can claim; prepare() before its first one. The thread
// counts its finished items once, when no item is left to claim (one contended add per thread and
// phase, not per item); the one that completes the phase wakes the sleepers.
template <class Prepare, class Item>
void run_phase(TeamPhase& p, const Prepare& prepare, const Item& item) {
  int32_t finished = 0;
  for (int64_t it = p.next.fetch_add(1, std::memory_order_relaxed); it < p.items;
       it = p.next.fetch_add(1, std::memory_order_relaxed)) {
    if (finished == 0) prepare();
    item(it);
    ++finished;
  }
  if (finished > 0 && p.done.fetch_add(finished) + finished == p.items && p.sleepers.load() > 0)
    futex_wake_all(p.done);
}

// team_mm_ holds kProducts per layer (one per stage but attention), then the LM head.
constexpr int64_t kProducts = LayerStep::kStages - 1;
// The TeamMatmul of a layer's stage among the layer's kProducts.
int team_product(int stage) { return stage < LayerStep::kAttend ? stage : stage - 1; }

}  // namespace

void Engine::plan_team(int64_t n, int64_t m, int threads) {
  const ModelConfig& c = w_->config;
  const int64_t L = c.num_hidden_layers;
  if (team_key_[0] == n && team_key_[1] == m && team_key_[2] == threads) return;
  team_key_[0] = n;
  team_key_[1] = m;
  team_key_[2] = threads;
  team_mm_.resize(static_cast<size_t>(kProducts * L + 1));
  const StepRows rows = step_rows(n);
  for (int64_t l = 0; l < L; ++l) {
    const LayerStep step(c, w_->layers[static_cast<size_t>(l)], l, cache_, rope_, rows);
    for (int s = 0; s < LayerStep::kStages; ++s) {
      const StepProduct p = step.product(static_cast<LayerStep::Stage>(s));
      if (p.count == 0) continue;
      team_mm_[static_cast<size_t>(kProducts * l + team_product(s))].plan(
          std::span(p.ws, static_cast<size_t>(p.count)), std::span(p.ys, static_cast<size_t>(p.count)), n, p.layout,
          p.align, threads);
    }
  }
  const WeightMatrix* head[] = {&w_->lm_head};
  float* head_y[] = {nullptr};  // set per step (logits may move)
  team_mm_[static_cast<size_t>(kProducts * L)].plan(head, head_y, m, TeamLayout::Stacked, 16, threads);
  // Phases: embedding, one per stage and layer, LM head.
  const size_t phases = static_cast<size_t>(LayerStep::kStages * L + 2);
  if (team_phases_n_ < phases) {
    team_phases_ = std::make_unique<TeamPhase[]>(phases);
    team_phases_n_ = phases;
  }
  team_phases_[0].items = n;
  for (int64_t l = 0; l < L; ++l)
    for (int s = 0; s < LayerStep::kStages; ++s)
      team_phases_[static_cast<size_t>(1 + LayerStep::kStages * l + s)].items =
          s == LayerStep::kAttend ? n * c.num_key_value_heads
                                  : team_mm_[static_cast<size_t>(kProducts * l + team_product(s))].items();
  team_phases_[phases - 1].items = team_mm_[static_cast<size_t>(kProducts * L)].items();
}

void Engine::forward_team(int64_t n, int64_t m, std::vector<float>& logits) {
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, D = c.head_dim;
  const int64_t V = c.vocab_size, NL = c.num_hidden_layers, S = LayerStep::kStages;
  const int threads = omp_get_max_threads();
  const int64_t scratch_per_thread = threads * backend().kv_attention_scratch(H / KV, D);
  logits.resize(static_cast<size_t>(m * V));
  plan_team(n, m, threads);
  {  // the LM head writes into logits, which resize may have moved
    const WeightMatrix* head[] = {&w_->lm_head};
    float* head_y[] = {logits.data()};
    team_mm_[static_cast<size_t>(kProducts * NL)].plan(head, head_y, m, TeamLayout::Stacked, 16, threads);
  }
  const size_t phases = static_cast<size_t>(S * NL + 2);
  for (size_t p = 0; p < phases; ++p) {
    team_phases_[p].next.store(0, std::memory_order_relaxed);
    team_phases_[p].done.store(0, std::memory_order_relaxed);
    team_phases_[p].sleepers.store(0, std::memory_order_relaxed);
  }
  const StepRows rows = step_rows(n);

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    float* h = team_h_.data() + static_cast<size_t>(t) * n * C;
    float* scratch = scratch_.data() + t * scratch_per_thread;
    TeamPhase* phase = team_phases_.get();
    auto nothing = [] {};

    run_phase(phase[0], nothing, [&](int64_t i) { embed_rows(*w_, rows, i, i + 1); });

    for (int64_t l = 0; l < NL; ++l) {
      const LayerStep step(c, w_->layers[static_cast<size_t>(l)], l, cache_, rope_, rows);
      const TeamMatmul* mm = &team_mm_[static_cast<size_t>(kProducts * l)];
      TeamPhase* p = &phase[1 + S * l];
      for (int si = 0; si < S; ++si) {
        const auto s = static_cast<LayerStep::Stage>(si);
        wait_done(p[si - 1]);
        if (s == LayerStep::kAttend) {
          // One (row, kv head) per item (every row's keys and values are in the cache now): batch 1
          // spreads its kv heads over the threads.
          run_phase(p[si], nothing, [&](int64_t it) { step.attend(it / KV, it % KV, scratch); });
          continue;
        }
        // A product whose items finish their own output columns (bias, rope, cache writes,
        // residual adds, SwiGLU: layer_step.h); its input is this thread's normalized rows h when
        // the stage has a norm (each thread normalizes all n rows itself: no barrier).
        const TeamMatmul& prod = mm[team_product(si)];
        const float* in = step.norm_weight(s) ? h : step.product(s).in;
        auto finish = [&](int i, int64_t a, int64_t b) { step.finish(s, i, a, b, 0, n); };
        run_phase(
            p[si],
            [&] {
              if (in == h) step.norm(s, 0, n, h);
              prod.prepare(in);
            },
            [&](int64_t it) { prod.run(it, in, finish); });
      }
    }

    // Final norm of the rows that give logits (per thread), then the LM head.
    const TeamMatmul& head = team_mm_[static_cast<size_t>(kProducts * NL)];
    wait_done(phase[S * NL]);
    run_phase(
        phase[S * NL + 1],
        [&] {
          head_norm(*w_, rows, out_rows_.data(), 0, m, h);
          head.prepare(h);
        },
        [&](int64_t it) { head.run(it, h); });
  }
  // The region's join: every item of every phase is done.
}

}  // namespace baimo
