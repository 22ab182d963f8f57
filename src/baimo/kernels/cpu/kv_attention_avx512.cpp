// AVX-512 path of kv_attention_kernels.h (D % 16 == 0). Per block of 64 keys and per query head:
//  - scores of 16 keys in one vector: 16 per-key vectors of partial products over head_dim, reduced to
//    one vector of 16 sums by a transpose-add tree (unpack ps, unpack pd, 2x shuffle_f32x4);
//    a partial last group of keys is copied into a zero-padded tile and its lanes masked to -inf;
//  - softmax bookkeeping on those vectors: one horizontal max per block, exp per lane, per-lane
//    running sums (reduced once at the end);
//  - P.V: acc[g] = acc[g] * corr + sum_j p_j v_j over head_dim in groups of up to 4 vectors, up to 4
//    heads sharing each loaded value vector, U keys in flight so that >= 8 FMA chains hide the latency.
// Every function carries a target attribute; dispatch only calls them on CPUs with AVX-512.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "baimo/kernels/cpu/kv_attention_kernels.h"
#include "baimo/kernels/cpu/vec_math.h"

#define BAIMO_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

namespace baimo::attn {

namespace {

// exp per lane: the range reduction and polynomial of cpu::vexp.
BAIMO_AVX512 inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f));
  const __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(12582912.0f));
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i bits =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x4B400000)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// a[0..15] -> one vector whose lane j is the sum of the 16 lanes of a[j].
BAIMO_AVX512 inline __m512 sum16x16(const __m512* a) {
  __m512 b[8];  // 128-bit lane L of b[i]: keys (2i, 2i+1, 2i, 2i+1), partial over lane L
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  __m512 c[4];  // lane L of c[i]: keys 4i .. 4i+3, partial over lane L
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d x = _mm512_castps_pd(b[2 * i]), y = _mm512_castps_pd(b[2 * i + 1]);
    c[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  // d0 lanes: c0 (L0+L1), c0 (L2+L3), c1 (L0+L1), c1 (L2+L3); d1 likewise for c2, c3.
  const __m512 d0 = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
  const __m512 d1 = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88), _mm512_shuffle_f32x4(c[2], c[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xDD));
}

// Lane j: q . k_j for keys j = 0..15 at k + j * stride.
// NC = D / 16 known at compile time (q held in registers), or 0: nc at run time.
template <int NC>
BAIMO_AVX512 inline __m512 scores16(const float* q, int64_t nc, const float* k, int64_t stride) {
  __m512 a[16];
  if constexpr (NC > 0) {
    __m512 qv[NC];
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) qv[c] = _mm512_loadu_ps(q + 16 * c);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j, k += stride) {
      a[j] = _mm512_mul_ps(qv[0], _mm512_loadu_ps(k));
#pragma GCC unroll 8
      for (int c = 1; c < NC; ++c) a[j] = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(k + 16 * c), a[j]);
    }
  } else {
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) a[j] = _mm512_setzero_ps();
    for (int64_t c = 0; c < nc; ++c) {
      const __m512 qv = _mm512_loadu_ps(q + 16 * c);
      const float* kj = k + 16 * c;
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j, kj += stride) a[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kj), a[j]);
    }
  }
  return sum16x16(a);
}

// For heads h < HG: acc[h * D + 0 .. 16W) = acc[h * D + ...] * corr[h] + sum_{j < nb} p[h * kKvBlock + j] * v[j *
// stride + 0 .. 16W). The HG heads share each loaded value vector; U keys in flight so that HG * W * U >= 8 FMA chains.
template <int W, int HG>
BAIMO_AVX512 inline void pv(float* acc, int64_t D, const float* corr, const float* p, const float* v, int64_t stride,
                            int64_t nb) {
  constexpr int U = (8 + W * HG - 1) / (W * HG);
  __m512 A[U][HG][W];
#pragma GCC unroll 4
  for (int h = 0; h < HG; ++h) {
    const __m512 cv = _mm512_set1_ps(corr[h]);
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) {
      A[0][h][w] = _mm512_mul_ps(_mm512_loadu_ps(acc + h * D + 16 * w), cv);
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) A[u][h][w] = _mm512_setzero_ps();
    }
  }
  int64_t j = 0;
  for (; j + U <= nb; j += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const float* vr = v + (j + u) * stride;
      __m512 vv[W];
#pragma GCC unroll 4
      for (int w = 0; w < W; ++w) vv[w] = _mm512_loadu_ps(vr + 16 * w);
#pragma GCC unroll 4
      for (int h = 0; h < HG; ++h) {
        const __m512 pu = _mm512_set1_ps(p[h * kKvBlock + j + u]);
#pragma GCC unroll 4
        for (int w = 0; w < W; ++w) A[u][h][w] = _mm512_fmadd_ps(pu, vv[w], A[u][h][w]);
      }
    }
  }
  for (; j < nb; ++j) {
    const float* vr = v + j * stride;
    __m512 vv[W];
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) vv[w] = _mm512_loadu_ps(vr + 16 * w);
#pragma GCC unroll 4
    for (int h = 0; h < HG; ++h) {
      const __m512 pu = _mm512_set1_ps(p[h * kKvBlock + j]);
#pragma GCC unroll 4
      for (int w = 0; w < W; ++w) A[0][h][w] = _mm512_fmadd_ps(pu, vv[w], A[0][h][w]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < HG; ++h)
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) {
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) A[0][h][w] = _mm512_add_ps(A[0][h][w], A[u][h][w]);
      _mm512_storeu_ps(acc + h * D + 16 * w, A[0][h][w]);
    }
}

template <int W>
BAIMO_AVX512 inline void pv_heads(float* acc, int64_t G, int64_t D, const float* corr, const float* s, const float* v,
                                  int64_t stride, int64_t nb) {
  for (int64_t g = 0; g < G; g += 4) {
    float* a = acc + g * D;
    const float* p = s + g * kKvBlock;
    switch (std::min<int64_t>(4, G - g)) {
      case 1:
        pv<W, 1>(a, D, corr + g, p, v, stride, nb);
        break;
      case 2:
        pv<W, 2>(a, D, corr + g, p, v, stride, nb);
        break;
      case 3:
        pv<W, 3>(a, D, corr + g, p, v, stride, nb);
        break;
      default:
        pv<W, 4>(a, D, corr + g, p, v, stride, nb);
        break;
    }
  }
}

template <int NC>
BAIMO_AVX512 void task(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch) {
  const int64_t nc = NC > 0 ? NC : D / 16;
  float* s = scratch;             // (G, kKvBlock) scores, then probabilities
  float* acc = s + G * kKvBlock;  // (G, D) unnormalized output
  float* m = acc + G * D;         // (G) running max
  float* corr = m + G;            // (G) rescale of acc for the current block
  float* lsum = corr + G;         // (G, 16) per-lane running sums
  float* tile = lsum + G * 16;    // (16, D) the keys of a partial 16-key group
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::fill(acc, acc + G * D, 0.f);
  std::fill(m, m + G, neg_inf);
  std::fill(lsum, lsum + G * 16, 0.f);
  const __m512 vscale = _mm512_set1_ps(scale), vneg_inf = _mm512_set1_ps(neg_inf);
  for (int64_t j0 = 0; j0 < t.n; j0 += kKvBlock) {
    const int64_t nb = std::min(kKvBlock, t.n - j0);
    const int nsub = static_cast<int>((nb + 15) / 16);
    const float* kb = t.k + j0 * t.stride;
    const int full = static_cast<int>(nb / 16), tail = static_cast<int>(nb % 16);
    const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1);
    if (tail) {  // the last partial 16 keys, copied into a zero-padded (16, D) tile: no read past key n-1
      const float* src = kb + 16 * full * t.stride;
      for (int j = 0; j < 16; ++j)
        for (int64_t c = 0; c < nc; ++c)
          _mm512_storeu_ps(tile + j * D + 16 * c,
                           j < tail ? _mm512_loadu_ps(src + j * t.stride + 16 * c) : _mm512_setzero_ps());
    }
    for (int64_t g = 0; g < G; ++g) {
      const float* qg = t.q + g * D;
      float* sg = s + g * kKvBlock;
      __m512 sv[kKvBlock / 16];
      __m512 mx = vneg_inf;
      for (int b = 0; b < full; ++b) {
        sv[b] = _mm512_mul_ps(scores16<NC>(qg, nc, kb + 16 * b * t.stride, t.stride), vscale);
        mx = _mm512_max_ps(mx, sv[b]);
      }
      if (tail) {
        sv[full] = _mm512_mask_mov_ps(vneg_inf, tail_mask, _mm512_mul_ps(scores16<NC>(qg, nc, tile, D), vscale));
        mx = _mm512_max_ps(mx, sv[full]);
      }
      const float m_new = std::max(m[g], _mm512_reduce_max_ps(mx));
      corr[g] = cpu::vexp(m[g] - m_new);  // exp(-inf) -> ~1e-38 at the first block, acc and lsum are 0
      m[g] = m_new;
      const __m512 vm = _mm512_set1_ps(m_new);
      __m512 sum = _mm512_setzero_ps();
      for (int b = 0; b < nsub; ++b) {
        const __mmask16 valid = b < full ? static_cast<__mmask16>(0xFFFF) : tail_mask;
        const __m512 p = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(sv[b], vm)));
        _mm512_storeu_ps(sg + 16 * b, p);
        sum = _mm512_add_ps(sum, p);
      }
      float* lg = lsum + 16 * g;
      _mm512_storeu_ps(lg, _mm512_fmadd_ps(_mm512_loadu_ps(lg), _mm512_set1_ps(corr[g]), sum));
    }
    const float* vb = t.v + j0 * t.stride;
    for (int64_t c0 = 0; c0 < nc; c0 += 4) {  // head_dim in groups of up to 4 vectors
      float* a = acc + 16 * c0;
      const float* v = vb + 16 * c0;
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
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_loadu_ps(lsum + 16 * g)));
    for (int64_t c = 0; c < nc; ++c)
      _mm512_storeu_ps(t.out + g * D + 16 * c, _mm512_mul_ps(_mm512_loadu_ps(acc + g * D + 16 * c), inv));
  }
}

}  // namespace

void kv_task_avx512(const KvTask& t, int64_t G, int64_t D, float scale, float* scratch) {
  switch (D / 16) {
    case 1:
      task<1>(t, G, D, scale, scratch);
      break;
    case 2:
      task<2>(t, G, D, scale, scratch);
      break;
    case 3:
      task<3>(t, G, D, scale, scratch);
      break;
    case 4:
      task<4>(t, G, D, scale, scratch);
      break;
    case 5:
      task<5>(t, G, D, scale, scratch);
      break;
    case 6:
      task<6>(t, G, D, scale, scratch);
      break;
    case 7:
      task<7>(t, G, D, scale, scratch);
      break;
    case 8:
      task<8>(t, G, D, scale, scratch);
      break;
    default:
      task<0>(t, G, D, scale, scratch);
      break;
  }
}

}  // namespace baimo::attn
