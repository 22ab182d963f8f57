// AVX2 path of kv_attention_kernels.h (D % 8 == 0): the AVX-512 scheme at 8 lanes. Per block of 64
// keys and per query head: scores of 8 keys in one vector (8 per-key vectors of partial products over
// head_dim, reduced by a hadd tree and one 128-bit lane swap), tail keys repeat the last valid row and
// are masked to -inf; softmax on those vectors with per-lane running sums; P.V over head_dim in groups
// of up to 4 vectors, 2 to 4 heads sharing each loaded value vector. The build baseline is x86-64-v3,
// so no target attribute is needed; dispatch still checks the CPU.
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "baimo/kernels/cpu/kv_attention_kernels.h"
#include "baimo/kernels/cpu/vec_math.h"

namespace baimo::attn {

namespace {

// exp per lane: the range reduction and polynomial of cpu::vexp.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(12582912.0f));
  const __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(12582912.0f));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x4B400000)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

inline float hmax8(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

inline float hsum8(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// a[0..7] -> one vector whose lane j is the sum of the 8 lanes of a[j].
inline __m256 sum8x8(const __m256* a) {
  // hadd(a0, a1) lanes: a0 (0+1), a0 (2+3), a1 (0+1), a1 (2+3) | the same for elements 4..7.
  const __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));  // keys 0..3 | 0..3
  const __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));  // keys 4..7 | 4..7
  return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t0, t1, 0x31));
}

// Lane j: q . k_j for keys j = 0..7 at k + j * stride (nc = D / 8); keys j >= nvalid reuse key nvalid - 1.
inline __m256 scores8(const float* q, int64_t nc, const float* k, int64_t stride, int nvalid) {
  __m256 a[8];
  const float* kj[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    kj[j] = k + (j < nvalid ? j : nvalid - 1) * stride;
    a[j] = _mm256_setzero_ps();
  }
  for (int64_t c = 0; c < nc; ++c) {
    const __m256 qv = _mm256_loadu_ps(q + 8 * c);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) a[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj[j] + 8 * c), a[j]);
  }
  return sum8x8(a);
}

// For heads h < HG: acc[h * D + 0 .. 8W) = acc[h * D + ...] * corr[h] + sum_{j < nb} p[h * kKvBlock + j] * v[j * stride
// + 0 .. 8W). The HG heads share each loaded value vector; U keys in flight for >= 6 FMA chains within 16 registers.
template <int W, int HG>
inline void pv(float* acc, int64_t D, const float* corr, const float* p, const float* v, int64_t stride, int64_t nb) {
  constexpr int U = 8 / (W * HG) > 1 ? 8 / (W * HG) : 1;
  __m256 A[U][HG][W];
#pragma GCC unroll 4
  for (int h = 0; h < HG; ++h) {
    const __m256 cv = _mm256_set1_ps(corr[h]);
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) {
      A[0][h][w] = _mm256_mul_ps(_mm256_loadu_ps(acc + h * D + 8 * w), cv);
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) A[u][h][w] = _mm256_setzero_ps();
    }
  }
  int64_t j = 0;
  for (; j + U <= nb; j += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const float* vr = v + (j + u) * stride;
      __m256 vv[W];
#pragma GCC unroll 4
      for (int w = 0; w < W; ++w) vv[w] = _mm256_loadu_ps(vr + 8 * w);
#pragma GCC unroll 4
      for (int h = 0; h < HG; ++h) {
        const __m256 pu = _mm256_broadcast_ss(p + h * kKvBlock + j + u);
#pragma GCC unroll 4
        for (int w = 0; w < W; ++w) A[u][h][w] = _mm256_fmadd_ps(pu, vv[w], A[u][h][w]);
      }
    }
  }
  for (; j < nb; ++j) {
    const float* vr = v + j * stride;
    __m256 vv[W];
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) vv[w] = _mm256_loadu_ps(vr + 8 * w);
#pragma GCC unroll 4
    for (int h = 0; h < HG; ++h) {
      const __m256 pu = _mm256_broadcast_ss(p + h * kKvBlock + j);
#pragma GCC unroll 4
      for (int w = 0; w < W; ++w) A[0][h][w] = _mm256_fmadd_ps(pu, vv[w], A[0][h][w]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < HG; ++h)
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) {
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) A[0][h][w] = _mm256_add_ps(A[0][h][w], A[u][h][w]);
      _mm256_storeu_ps(acc + h * D + 8 * w, A[0][h][w]);
    }
}

// Heads in groups of up to 4 (W <= 2) or 2 (W > 2), so HG * W accumulators stay within 8 registers.
template <int W>
inline void pv_heads(float* acc, int64_t G, int64_t D, const float* corr, const float* s, const float* v,
                     int64_t stride, int64_t nb) {
  constexpr int64_t kMaxHeads = W <= 2 ? 4 : 2;
  for (int64_t g = 0; g < G; g += kMaxHeads) {
    float* a = acc + g * D;
    const float* p = s + g * kKvBlock;
    switch (std::min<int64_t>(kMaxHeads, G - g)) {
      case 1:
        pv<W, 1>(a, D, corr + g, p, v, stride, nb);
        break;
      case 2:
        pv<W, 2>(a, D, corr + g, p, v, stride, nb);
        break;
      case 3:
        if constexpr (kMaxHeads >= 3) pv<W, 3>(a, D, corr + g, p, v, stride, nb);
        break;
      default:
        if constexpr (kMaxHeads >= 4) pv<W, 4>(a, D, corr + g, p, v, stride, nb);
        break;
    }
  }
}

inline __m256 lane_mask(int nvalid) {  // lanes < nvalid all ones
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nvalid), idx));
}

}  // namespace

void kv_task_avx2(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch) {
  const int64_t nc = D / 8;
  float* s = scratch;             // (G, kKvBlock) scores, then probabilities
  float* acc = s + G * kKvBlock;  // (G, D) unnormalized output
  float* m = acc + G * D;         // (G) running max
  float* corr = m + G;            // (G) rescale of acc for the current block
  float* lsum = corr + G;         // (G, 8) per-lane running sums
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::fill(acc, acc + G * D, 0.f);
  std::fill(m, m + G, neg_inf);
  std::fill(lsum, lsum + G * 8, 0.f);
  const __m256 vscale = _mm256_set1_ps(scale), vneg_inf = _mm256_set1_ps(neg_inf);
  for (int64_t j0 = 0; j0 < t.n; j0 += kKvBlock) {
    const int64_t nb = std::min(kKvBlock, t.n - j0);
    const int nsub = static_cast<int>((nb + 7) / 8);
    const float* kb = t.k + j0 * t.stride;
    for (int64_t g = 0; g < G; ++g) {
      const float* qg = t.q + g * D;
      float* sg = s + g * kKvBlock;
      __m256 mx = vneg_inf;
      for (int b = 0; b < nsub; ++b) {
        const int nvalid = static_cast<int>(std::min<int64_t>(8, nb - 8 * b));
        const float* kr = kb + 8 * b * t.stride;
        __m256 sc;
        if (nvalid == 8) {
          sc = _mm256_mul_ps(scores8(qg, nc, kr, t.stride, 8), vscale);
        } else {
          sc = _mm256_blendv_ps(vneg_inf, _mm256_mul_ps(scores8(qg, nc, kr, t.stride, nvalid), vscale),
                                lane_mask(nvalid));
        }
        _mm256_storeu_ps(sg + 8 * b, sc);
        mx = _mm256_max_ps(mx, sc);
      }
      const float m_new = std::max(m[g], hmax8(mx));
      corr[g] = cpu::vexp(m[g] - m_new);  // exp(-inf) -> ~1e-38 at the first block, acc and lsum are 0
      m[g] = m_new;
      const __m256 vm = _mm256_set1_ps(m_new);
      __m256 sum = _mm256_setzero_ps();
      for (int b = 0; b < nsub; ++b) {
        const int nvalid = static_cast<int>(std::min<int64_t>(8, nb - 8 * b));
        __m256 p = exp8(_mm256_sub_ps(_mm256_loadu_ps(sg + 8 * b), vm));
        if (nvalid < 8) p = _mm256_and_ps(p, lane_mask(nvalid));
        _mm256_storeu_ps(sg + 8 * b, p);
        sum = _mm256_add_ps(sum, p);
      }
      float* lg = lsum + 8 * g;
      _mm256_storeu_ps(lg, _mm256_fmadd_ps(_mm256_loadu_ps(lg), _mm256_set1_ps(corr[g]), sum));
    }
    const float* vb = t.v + j0 * t.stride;
    for (int64_t c0 = 0; c0 < nc; c0 += 4) {  // head_dim in groups of up to 4 vectors
      float* a = acc + 8 * c0;
      const float* v = vb + 8 * c0;
      switch (std::min<int64_t>(4, nc - c0)) {
        case 1:
          pv_heads<1>(a, G, D, corr, s, v, t.stride, nb);
          break;
        case 2:
          pv_heads<2>(a, G, D, corr, s, v, t.stride, nb);
          break;
        case 3:
          pv_heads<3>(a, G, D, corr, s, v, t.stride, nb);
          break;
        default:
          pv_heads<4>(a, G, D, corr, s, v, t.stride, nb);
          break;
      }
    }
  }
  for (int64_t g = 0; g < G; ++g) {
    const __m256 inv = _mm256_set1_ps(1.0f / hsum8(_mm256_loadu_ps(lsum + 8 * g)));
    for (int64_t c = 0; c < nc; ++c)
      _mm256_storeu_ps(t.out + g * D + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(acc + g * D + 8 * c), inv));
  }
}

}  // namespace baimo::attn
