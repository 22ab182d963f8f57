// The CPU backend's attention of new query rows against a KV cache (decode and chunked prefill
// alike); Backend::kv_attention (kernels/backend.h) states the contract:
// For row r (slot row_slot[r], absolute position row_pos[r]) and query head h (kv head h / (H/KV)):
//   out[r, h] = softmax_j (q[r, h] . K[slot, j, kvh] / sqrt(D)) V[slot, j, kvh],  j = 0 .. row_pos[r]
// The keys/values of every row's own position must already be in the cache.
// One task per (row, kv head): the H/KV query heads sharing a kv head read its keys and values once,
// in blocks of 64 positions with an online (running max) softmax (kernels: kv_attention_kernels.h,
// AVX-512 when D % 16 == 0, AVX2 when D % 8 == 0, else the scalar reference; chosen at run time).
// OpenMP over tasks when the total work pays for the fork (one task: no fork).
// q, out: (rows, H*D); kv: one layer of the cache (kernels/kv_view.h), kv.kv_dim = KV*D.
// scratch: at least kv_attention_scratch(H/KV, D) floats per OpenMP thread (omp_get_max_threads()).
#pragma once
#include <cstdint>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/kernels/kv_view.h"

namespace baimo::cpu {

int64_t kv_attention_scratch(int64_t group, int64_t head_dim);

// isa: the instruction set cap (<= best_isa(); Scalar = the portable reference), for tests and A/B timing.
void kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos, const KvView& kv,
                  int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out, float* scratch,
                  CpuIsa isa = best_isa());

// One task of the above, single-threaded: the G = `group` query heads of kv head `kv_head` for one
// row (slot, absolute position pos). q, out: that row's (G, D) block, i.e. the row's q / out
// + kv_head * G * D. scratch: kv_attention_scratch(G, D) floats. The same kernel and results as
// kv_attention gives for that row and kv head (for callers that spread (row, kv head) items over threads).
void kv_attention_task(const float* q, int32_t slot, int32_t pos, const KvView& kv, int64_t kv_head, int64_t group,
                       int64_t head_dim, float* out, float* scratch);

}  // namespace baimo::cpu
