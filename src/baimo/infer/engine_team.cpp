// Engine::forward_team: a decode-size step (fewer than 16 rows) in ONE OpenMP parallel region,
// as a chain of phases whose work items any thread may claim (no barriers):
//   embedding rows | per layer: 1. q,k,v (items aligned to heads: bias, rope and the k / v cache
//   writes run in the item) 2. attention (one (row, kv head) per item) 3. o-projection (each item
//   adds its columns, + o bias, into the residual x) 4. gate,up in paired items with SwiGLU in the
//   item 5. down-projection (adds into x) | final norm + LM head.
// A thread enters phase p once every item of phase p-1 is done (items of p-1 started only after
// p-2 was done, so all earlier phases are complete too), claims items from the phase's counter
// and counts each finished one. Before its first item of a product phase it does that phase's
// per-thread preparation: rmsnorm into its own h and/or its own quantized copy of the input.
// Why not `omp barrier`: a barrier waits for every thread to arrive; on a loaded machine a thread
// that is descheduled stalls each of the ~5 barriers per layer for a scheduler slice. Here the
// running threads take all the items and only an item in progress on a descheduled thread makes
// them wait (and the region's final join).
// The results equal forward_ops' up to the summation order of f32 float-weight kernels and of the
// elementwise ops (the same kernels on the same rows; decode_ops.h has the serial row ops).
#include <immintrin.h>
#include <linux/futex.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdint>

#include <cstring>

#include "baimo/infer/engine.h"
#include "baimo/kernels/backend.h"
#include "baimo/kernels/decode_ops.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/quant/row_convert.h"

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

}  // namespace

void Engine::plan_team(int64_t n, int64_t m, int threads) {
  const ModelConfig& c = w_->config;
  const int64_t L = c.num_hidden_layers;
  if (team_key_[0] == n && team_key_[1] == m && team_key_[2] == threads) return;
  team_key_[0] = n;
  team_key_[1] = m;
  team_key_[2] = threads;
  team_mm_.resize(static_cast<size_t>(4 * L + 1));
  for (int64_t l = 0; l < L; ++l) {
    const LayerWeights& W = w_->layers[static_cast<size_t>(l)];
    const WeightMatrix* qkv[] = {&W.q, &W.k, &W.v};
    float* qkv_y[] = {q_.data(), k_.data(), v_.data()};
    const WeightMatrix* o[] = {&W.o};
    const WeightMatrix* gu[] = {&W.gate, &W.up};
    float* gu_y[] = {gate_.data(), up_.data()};
    const WeightMatrix* down[] = {&W.down};
    float* tmp_y[] = {tmp_.data()};
    TeamMatmul* mm = &team_mm_[static_cast<size_t>(4 * l)];
    mm[0].plan(qkv, qkv_y, n, TeamLayout::Stacked, c.head_dim, threads);
    mm[1].plan(o, tmp_y, n, TeamLayout::Stacked, 16, threads);
    mm[2].plan(gu, gu_y, n, TeamLayout::Paired, 16, threads);
    mm[3].plan(down, tmp_y, n, TeamLayout::Stacked, 16, threads);
  }
  const WeightMatrix* head[] = {&w_->lm_head};
  float* head_y[] = {nullptr};  // set per step (logits may move)
  team_mm_[static_cast<size_t>(4 * L)].plan(head, head_y, m, TeamLayout::Stacked, 16, threads);
  // Phases: embedding, 5 per layer, LM head.
  const size_t phases = static_cast<size_t>(5 * L + 2);
  if (team_phases_n_ < phases) {
    team_phases_ = std::make_unique<TeamPhase[]>(phases);
    team_phases_n_ = phases;
  }
  team_phases_[0].items = n;
  for (int64_t l = 0; l < L; ++l) {
    TeamPhase* p = &team_phases_[static_cast<size_t>(1 + 5 * l)];
    const TeamMatmul* mm = &team_mm_[static_cast<size_t>(4 * l)];
    p[0].items = mm[0].items();
    p[1].items = n * c.num_key_value_heads;
    p[2].items = mm[1].items();
    p[3].items = mm[2].items();
    p[4].items = mm[3].items();
  }
  team_phases_[phases - 1].items = team_mm_[static_cast<size_t>(4 * L)].items();
}

void Engine::forward_team(int64_t n, int64_t m, std::vector<float>& logits) {
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, D = c.head_dim;
  const int64_t Q = c.q_dim(), KVD = c.kv_dim(), F = c.intermediate_size, V = c.vocab_size;
  const int64_t NL = c.num_hidden_layers;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const int threads = omp_get_max_threads();
  const int64_t scratch_per_thread = threads * backend().kv_attention_scratch(H / KV, D);
  logits.resize(static_cast<size_t>(m * V));
  plan_team(n, m, threads);
  {  // the LM head writes into logits, which resize may have moved
    const WeightMatrix* head[] = {&w_->lm_head};
    float* head_y[] = {logits.data()};
    team_mm_[static_cast<size_t>(4 * NL)].plan(head, head_y, m, TeamLayout::Stacked, 16, threads);
  }
  const size_t phases = static_cast<size_t>(5 * NL + 2);
  for (size_t p = 0; p < phases; ++p) {
    team_phases_[p].next.store(0, std::memory_order_relaxed);
    team_phases_[p].done.store(0, std::memory_order_relaxed);
    team_phases_[p].sleepers.store(0, std::memory_order_relaxed);
  }
  const auto* table = static_cast<const uint8_t*>(w_->embed.data);
  const size_t table_row = w_->embed.row_bytes();
  float *x = x_.data(), *q = q_.data(), *att = att_.data(), *tmp = tmp_.data(), *gate = gate_.data();
  const float* up = up_.data();

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    float* h = team_h_.data() + static_cast<size_t>(t) * n * C;
    float* scratch = scratch_.data() + t * scratch_per_thread;
    TeamPhase* phase = team_phases_.get();
    auto nothing = [] {};

    run_phase(phase[0], nothing, [&](int64_t i) {
      quant::dequantize_row(w_->embed.type, table + static_cast<size_t>(ids_[i]) * table_row, x + i * C,
                            static_cast<size_t>(C));
    });

    for (int64_t l = 0; l < NL; ++l) {
      const LayerWeights& W = w_->layers[static_cast<size_t>(l)];
      const TeamMatmul* mm = &team_mm_[static_cast<size_t>(4 * l)];
      TeamPhase* p = &phase[1 + 5 * l];

      // 1. q, k, v with bias, rope and the cache writes in the items (aligned to whole heads).
      auto qkv_rows = [&](int i, int64_t a, int64_t b) {
        float* y = i == 0 ? q : i == 1 ? k_.data() : v_.data();
        const float* bias = i == 0 ? W.q_bias : i == 1 ? W.k_bias : W.v_bias;
        const int64_t ld = i == 0 ? Q : KVD;
        for (int64_t r = 0; r < n; ++r) {
          float* yr = y + r * ld;
          if (bias) {
#pragma omp simd
            for (int64_t j = a; j < b; ++j) yr[j] += bias[j];
          }
          if (i < 2) rope_heads(yr + a, rope_.row(pos_[r]), (b - a) / D, D);
          if (i > 0) {
            float* cache = i == 1 ? cache_.keys(l, row_slot_[r]) : cache_.values(l, row_slot_[r]);
            std::memcpy(cache + static_cast<size_t>(pos_[r]) * KVD + a, yr + a, (b - a) * sizeof(float));
          }
        }
      };
      wait_done(p[-1]);
      run_phase(
          p[0],
          [&] {
            for (int64_t r = 0; r < n; ++r) rmsnorm_row(x + r * C, W.attn_norm, C, eps, h + r * C);
            mm[0].prepare(h);
          },
          [&](int64_t it) { mm[0].run(it, h, qkv_rows); });

      // 2. Attention, one (row, kv head) per item (every row's keys and values are in the cache
      // now): batch 1 spreads its kv heads over the threads.
      wait_done(p[0]);
      run_phase(p[1], nothing, [&](int64_t it) {
        const int64_t r = it / KV, kvh = it % KV, off = r * Q + kvh * (H / KV) * D;
        backend().kv_attention_task(q + off, row_slot_[r], pos_[r], cache_.view(l), kvh, H / KV, D, att + off, scratch);
      });

      // 3. Output projection added into the residual stream, column range by column range.
      auto add_rows = [&](const float* bias) {
        return [=](int, int64_t a, int64_t b) {
          for (int64_t r = 0; r < n; ++r) {
            float* xr = x + r * C;
            const float* yr = tmp + r * C;
            if (bias) {
#pragma omp simd
              for (int64_t j = a; j < b; ++j) xr[j] += yr[j] + bias[j];
            } else {
#pragma omp simd
              for (int64_t j = a; j < b; ++j) xr[j] += yr[j];
            }
          }
        };
      };
      auto o_rows = add_rows(W.o_bias);
      wait_done(p[1]);
      run_phase(p[2], [&] { mm[1].prepare(att); }, [&](int64_t it) { mm[1].run(it, att, o_rows); });

      // 4. gate and up over the same rows, SwiGLU in place of gate.
      auto swiglu_rows = [&](int, int64_t a, int64_t b) {
        for (int64_t r = 0; r < n; ++r) swiglu_range(gate + r * F + a, up + r * F + a, b - a, gate + r * F + a);
      };
      wait_done(p[2]);
      run_phase(
          p[3],
          [&] {
            for (int64_t r = 0; r < n; ++r) rmsnorm_row(x + r * C, W.mlp_norm, C, eps, h + r * C);
            mm[2].prepare(h);
          },
          [&](int64_t it) { mm[2].run(it, h, swiglu_rows); });

      // 5. Down projection added into the residual stream.
      auto down_rows = add_rows(nullptr);
      wait_done(p[3]);
      run_phase(p[4], [&] { mm[3].prepare(gate); }, [&](int64_t it) { mm[3].run(it, gate, down_rows); });
    }

    // Final norm of the rows that give logits (per thread), then the LM head.
    const TeamMatmul& head = team_mm_[static_cast<size_t>(4 * NL)];
    wait_done(phase[5 * NL]);
    run_phase(
        phase[5 * NL + 1],
        [&] {
          for (int64_t i = 0; i < m; ++i)
            rmsnorm_row(x + static_cast<int64_t>(out_rows_[i]) * C, w_->final_norm, C, eps, h + i * C);
          head.prepare(h);
        },
        [&](int64_t it) { head.run(it, h); });
  }
  // The region's join: every item of every phase is done.
}

}  // namespace baimo
