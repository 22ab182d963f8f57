#include "baimo/kernels/cpu/kv_attention.h"

#include <omp.h>

#include <cmath>

#include "baimo/kernels/cpu/kv_attention_kernels.h"

namespace baimo::cpu {

namespace {

attn::KvTaskKernel pick_kernel(CpuIsa isa, int64_t D) {
  if (isa >= CpuIsa::Avx512Bw && D % 16 == 0) return attn::kv_task_avx512;
  if (isa >= CpuIsa::Avx2 && D % 8 == 0) return attn::kv_task_avx2;
  return attn::kv_task_scalar;
}

}  // namespace

int64_t kv_attention_scratch(int64_t group, int64_t head_dim) { return attn::kv_task_scratch(group, head_dim); }

void kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos, const KvView& kv,
                  int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out, float* scratch, CpuIsa isa) {
  const int64_t G = n_heads / n_kv_heads, D = head_dim, kv_dim = n_kv_heads * D, q_dim = n_heads * D;
  const int64_t per_thread = kv_attention_scratch(G, D);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const attn::KvTaskKernel kernel = pick_kernel(isa, D);
  const int64_t tasks = rows * n_kv_heads;
  int64_t work = 0;  // multiply-adds of q.k (the same again for p.v)
  for (int64_t r = 0; r < rows; ++r) work += (row_pos[r] + 1) * n_heads * D;
  // Fork only when the work pays for the team start. Measured with the AVX-512 kernel, 2 threads
  // (bench/kv_attention with the threshold varied, medians of 41): forking at 32768 (small.json b1 ctx 128,
  // ~3.5 us on one thread) is neutral, at 114688 (0.5B b1 ctx 128, ~6.4 us) it gains (5.5 us).
  // Called inside a parallel region (the engine's decode team) the region is nested and stays serial.
  constexpr int64_t kMinParallel = 32768;
#pragma omp parallel for schedule(dynamic, 1) if (tasks > 1 && work > kMinParallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t r = t / n_kv_heads, kvh = t % n_kv_heads;
    float* s = scratch + static_cast<int64_t>(omp_get_thread_num()) * per_thread;
    attn::KvTask task;
    task.q = q + r * q_dim + kvh * G * D;  // the G heads of this kv head are adjacent
    task.k = kv.slot_keys(row_slot[r]) + kvh * D;
    task.v = kv.slot_values(row_slot[r]) + kvh * D;
    task.stride = kv_dim;
    task.n = row_pos[r] + 1;
    task.out = out + r * q_dim + kvh * G * D;
    kernel(task, G, D, scale, s);
  }
}

void kv_attention_task(const float* q, int32_t slot, int32_t pos, const KvView& kv, int64_t kv_head, int64_t group,
                       int64_t head_dim, float* out, float* scratch) {
  const int64_t D = head_dim;
  attn::KvTask task;
  task.q = q;
  task.k = kv.slot_keys(slot) + kv_head * D;
  task.v = kv.slot_values(slot) + kv_head * D;
  task.stride = kv.kv_dim;
  task.n = pos + 1;
  task.out = out;
  pick_kernel(best_isa(), D)(task, group, D, 1.0f / std::sqrt(static_cast<float>(D)), scratch);
}

}  // namespace baimo::cpu
