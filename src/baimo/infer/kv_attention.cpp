#include "baimo/infer/kv_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "baimo/kernels/cpu/vec_math.h"

namespace baimo {
namespace {
constexpr int64_t kBlock = 64;  // key positions per online-softmax block
}

int64_t kv_attention_scratch(int64_t group, int64_t head_dim) { return group * (kBlock + head_dim + 2); }

void kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos, const KvCache& cache,
                  int64_t layer, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out, float* scratch) {
  const int64_t G = n_heads / n_kv_heads, D = head_dim, kv_dim = n_kv_heads * D, q_dim = n_heads * D;
  const int64_t per_thread = kv_attention_scratch(G, D);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t tasks = rows * n_kv_heads;
  int64_t work = 0;
  for (int64_t r = 0; r < rows; ++r) work += row_pos[r] + 1;
#pragma omp parallel for schedule(dynamic, 1) if (work * n_heads * D > 32768)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t r = t / n_kv_heads, kvh = t % n_kv_heads;
    float* s = scratch + static_cast<int64_t>(omp_get_thread_num()) * per_thread;  // (G, kBlock) scores
    float* acc = s + G * kBlock;                                                       // (G, D)
    float* m = acc + G * D;                                                            // (G) running max
    float* l = m + G;                                                                  // (G) running sum
    std::fill(acc, acc + G * D, 0.f);
    std::fill(m, m + G, -std::numeric_limits<float>::infinity());
    std::fill(l, l + G, 0.f);
    const float* qr = q + r * q_dim + kvh * G * D;  // the G heads of this kv head are adjacent
    const float* K = cache.keys(layer, row_slot[r]) + kvh * D;
    const float* V = cache.values(layer, row_slot[r]) + kvh * D;
    const int64_t n = row_pos[r] + 1;
    for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
      const int64_t nb = std::min(kBlock, n - j0);
      for (int64_t jj = 0; jj < nb; ++jj) {
        const float* kr = K + (j0 + jj) * kv_dim;
        for (int64_t g = 0; g < G; ++g) {
          const float* qg = qr + g * D;
          float d = 0.f;
#pragma omp simd reduction(+ : d)
          for (int64_t i = 0; i < D; ++i) d += qg[i] * kr[i];
          s[g * kBlock + jj] = d * scale;
        }
      }
      for (int64_t g = 0; g < G; ++g) {
        float* sg = s + g * kBlock;
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
        const float* vr = V + (j0 + jj) * kv_dim;
        for (int64_t g = 0; g < G; ++g) {
          const float p = s[g * kBlock + jj];
          float* ag = acc + g * D;
#pragma omp simd
          for (int64_t i = 0; i < D; ++i) ag[i] += p * vr[i];
        }
      }
    }
    float* o = out + r * q_dim + kvh * G * D;
    for (int64_t g = 0; g < G; ++g) {
      const float inv = 1.0f / l[g];
      for (int64_t i = 0; i < D; ++i) o[g * D + i] = acc[g * D + i] * inv;
    }
  }
}

}  // namespace baimo
