// Internal: one attention task of kv_attention (one query row, one kv head, its G query heads) per ISA.
//   out[g] = sum_j softmax_j(q[g] . k_j * scale) v_j,  j = 0 .. n-1,  g = 0 .. G-1
// q, out: (G, D) contiguous; key j at k + j * stride, value j at v + j * stride (D floats each).
// Keys are visited in blocks of kKvBlock with an online (running max) softmax.
// scratch: kv_task_scratch(G, D) floats, written freely. n >= 1. Only keys/values 0 .. n-1 are read.
// Requirements: kv_task_avx512 needs D % 16 == 0 and an AVX-512 F/BW/VL/DQ CPU; kv_task_avx2 needs
// D % 8 == 0 and AVX2+FMA; kv_task_scalar takes any D (the reference: plain loops). The paths differ
// only in f32 summation order and in the exp polynomial being evaluated per lane vs per element.
#pragma once
#include <cstdint>

namespace baimo::attn {

constexpr int64_t kKvBlock = 64;  // key positions per online-softmax block

struct KvTask {
  const float* q;
  const float* k;
  const float* v;
  int64_t stride;  // floats between consecutive positions (the cache's kv_dim)
  int64_t n;       // number of keys
  float* out;
};

using KvTaskKernel = void (*)(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch);

// floats of scratch any of the kernels below needs for one task.
inline int64_t kv_task_scratch(int64_t G, int64_t D) { return G * (kKvBlock + D + 2 + 16) + 16 * D; }

void kv_task_scalar(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch);
void kv_task_avx2(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch);
void kv_task_avx512(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch);

}  // namespace baimo::attn
