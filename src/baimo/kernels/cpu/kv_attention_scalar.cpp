// Portable reference path of kv_attention_kernels.h: per (key, head) one D-wide dot product, then a
// scalar running max / exp / sum per head and a D-wide axpy per (key, head). Any head_dim.
#include <algorithm>
#include <limits>

#include "baimo/kernels/cpu/kv_attention_kernels.h"
#include "baimo/kernels/cpu/vec_math.h"

namespace baimo::attn {

void kv_task_scalar(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch) {
  float* s = scratch;             // (G, kKvBlock) scores, then probabilities
  float* acc = s + G * kKvBlock;  // (G, D)
  float* m = acc + G * D;         // (G) running max
  float* l = m + G;               // (G) running sum
  std::fill(acc, acc + G * D, 0.f);
  std::fill(m, m + G, -std::numeric_limits<float>::infinity());
  std::fill(l, l + G, 0.f);
  for (int64_t j0 = 0; j0 < t.n; j0 += kKvBlock) {
    const int64_t nb = std::min(kKvBlock, t.n - j0);
    for (int64_t jj = 0; jj < nb; ++jj) {
      const float* kr = t.k + (j0 + jj) * t.stride;
      for (int64_t g = 0; g < G; ++g) {
        const float* qg = t.q + g * D;
        float d = 0.f;
#pragma omp simd reduction(+ : d)
        for (int64_t i = 0; i < D; ++i) d += qg[i] * kr[i];
        s[g * kKvBlock + jj] = d * scale;
      }
    }
    for (int64_t g = 0; g < G; ++g) {
      float* sg = s + g * kKvBlock;
      float mx = m[g];
      for (int64_t jj = 0; jj < nb; ++jj) mx = std::max(mx, sg[jj]);
      const float corr = cpu::vexp(m[g] - mx);  // exp(-inf) -> ~0 at the first block, acc is 0 anyway
      float sum = 0.f;
#pragma omp simd reduction(+ : sum)
      for (int64_t jj = 0; jj < nb; ++jj) {
        sg[jj] = cpu::vexp(sg[jj] - mx);
        sum += sg[jj];
      }
      l[g] = l[g] * corr + sum;
      m[g] = mx;
      float* ag = acc + g * D;
#pragma omp simd
      for (int64_t i = 0; i < D; ++i) ag[i] *= corr;
    }
    for (int64_t jj = 0; jj < nb; ++jj) {
      const float* vr = t.v + (j0 + jj) * t.stride;
      for (int64_t g = 0; g < G; ++g) {
        const float p = s[g * kKvBlock + jj];
        float* ag = acc + g * D;
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) ag[i] += p * vr[i];
      }
    }
  }
  for (int64_t g = 0; g < G; ++g) {
    const float inv = 1.0f / l[g];
    for (int64_t i = 0; i < D; ++i) t.out[g * D + i] = acc[g * D + i] * inv;
  }
}

}  // namespace baimo::attn
