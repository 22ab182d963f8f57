// Engine::forward_team: a decode-size step (fewer than 16 rows) in ONE OpenMP parallel region.
// Per layer the team meets at 5 barriers, one per data dependency, and does everything else in the
// work items of the products (quant/team_matmul.h) or redundantly on every thread:
//   1. rmsnorm(x) -> h: every thread, into its own h (no barrier; the products quantize it per thread)
//      q,k,v = h W^T, items aligned to heads; each item adds its bias, applies rope and writes its
//      k / v rows into the cache                                                         | barrier
//   2. attention, rows shared out (one kv_attention call per thread)                    | barrier
//   3. o-projection; each item adds its columns (+ o bias) into the residual x          | barrier
//   4. rmsnorm(x) -> h per thread; gate,up = h W^T in paired items, SwiGLU on each item | barrier
//   5. down-projection; each item adds its columns into x                               | barrier
// then the final norm (per thread, the logits rows only) and the LM head.
// The results equal forward_ops' bit for bit up to the summation order of f32 float-weight
// kernels and of the backend's elementwise ops (the same kernels on the same rows).
#include <omp.h>

#include <cstring>

#include "baimo/infer/engine.h"
#include "baimo/infer/kv_attention.h"
#include "baimo/infer/decode_ops.h"
#include "baimo/quant/row_convert.h"
#include "baimo/quant/team_matmul.h"

namespace baimo {

void Engine::forward_team(int64_t n, int64_t m, std::vector<float>& logits) {
  using quant::TeamLayout;
  using quant::WeightMatrix;
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, D = c.head_dim;
  const int64_t Q = c.q_dim(), KVD = c.kv_dim(), F = c.intermediate_size, V = c.vocab_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const int threads = omp_get_max_threads();
  const int64_t scratch_per_thread = threads * kv_attention_scratch(H / KV, D);
  logits.resize(static_cast<size_t>(m * V));
  const auto* table = static_cast<const uint8_t*>(w_->embed.data);
  const size_t table_row = w_->embed.row_bytes();
  float *x = x_.data(), *q = q_.data(), *k = k_.data(), *v = v_.data(), *att = att_.data(), *tmp = tmp_.data();
  float *gate = gate_.data(), *up = up_.data();

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    float* h = team_h_.data() + static_cast<size_t>(t) * n * C;
    float* scratch = scratch_.data() + t * scratch_per_thread;

#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      quant::dequantize_row(w_->embed.type, table + static_cast<size_t>(ids_[i]) * table_row, x + i * C,
                            static_cast<size_t>(C));

    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const LayerWeights& L = w_->layers[static_cast<size_t>(l)];

      // 1. q, k, v with bias, rope and the cache writes in the items (aligned to whole heads).
      for (int64_t r = 0; r < n; ++r) rmsnorm_row(x + r * C, L.attn_norm, C, eps, h + r * C);
      auto qkv_rows = [&](int i, int64_t a, int64_t b) {
        float* y = i == 0 ? q : i == 1 ? k : v;
        const float* bias = i == 0 ? L.q_bias : i == 1 ? L.k_bias : L.v_bias;
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
      const WeightMatrix* qkv_w[] = {&L.q, &L.k, &L.v};
      float* qkv_y[] = {q, k, v};
      quant::team_matmul(qkv_w, h, n, qkv_y, TeamLayout::Stacked, D, qkv_rows);
#pragma omp barrier

      // 2. Attention (every row's keys and values are in the cache now): one call per thread on
      // its share of the rows (each call opens a nested, inactive parallel region).
      {
        const int64_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
        if (r1 > r0)
          kv_attention(q + r0 * Q, r1 - r0, &row_slot_[r0], &pos_[r0], cache_, l, H, KV, D, att + r0 * Q, scratch);
      }
#pragma omp barrier

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
      auto o_rows = add_rows(L.o_bias);
      const WeightMatrix* o_w[] = {&L.o};
      float* tmp_y[] = {tmp};
      quant::team_matmul(o_w, att, n, tmp_y, TeamLayout::Stacked, 16, o_rows);
#pragma omp barrier

      // 4. gate and up over the same rows, SwiGLU in place of gate.
      for (int64_t r = 0; r < n; ++r) rmsnorm_row(x + r * C, L.mlp_norm, C, eps, h + r * C);
      auto swiglu_rows = [&](int, int64_t a, int64_t b) {
        for (int64_t r = 0; r < n; ++r) swiglu_range(gate + r * F + a, up + r * F + a, b - a, gate + r * F + a);
      };
      const WeightMatrix* gu_w[] = {&L.gate, &L.up};
      float* gu_y[] = {gate, up};
      quant::team_matmul(gu_w, h, n, gu_y, TeamLayout::Paired, 16, swiglu_rows);
#pragma omp barrier

      // 5. Down projection added into the residual stream.
      auto down_rows = add_rows(nullptr);
      const WeightMatrix* down_w[] = {&L.down};
      quant::team_matmul(down_w, gate, n, tmp_y, TeamLayout::Stacked, 16, down_rows);
#pragma omp barrier
    }

    // Final norm of the rows that give logits (per thread), then the LM head.
    for (int64_t i = 0; i < m; ++i)
      rmsnorm_row(x + static_cast<int64_t>(out_rows_[i]) * C, w_->final_norm, C, eps, h + i * C);
    const WeightMatrix* head_w[] = {&w_->lm_head};
    float* head_y[] = {logits.data()};
    quant::team_matmul(head_w, h, m, head_y, TeamLayout::Stacked);
  }
}

}  // namespace baimo
