// AVX-512 float-weight kernels of float_kernels.h: 16 columns per step; 4 or more activation rows in
// 4x4 register tiles (4 weight rows x 4 activation rows, one transpose-add reduction per tile, the
// next tiles' weight rows prefetched); otherwise row by row, two accumulator chains per
// activation row for small batches, masked loads for the column tail. Every function carries a
// target attribute; dispatch only calls them on CPUs that have AVX-512.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "baimo/kernels/cpu/float_kernels.h"

#define BAIMO_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

namespace baimo::cpu::kern {

namespace {

template <DType T>
BAIMO_AVX512 inline __m512 load16(const uint8_t* row, int64_t k, __mmask16 m) {
  if constexpr (T == DType::F32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
  } else if constexpr (T == DType::F16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
  } else {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
}

template <DType T, int NB>
BAIMO_AVX512 void rows(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x, int64_t cols,
                       int64_t b0, float* y, int64_t ldy) {
  constexpr int kChains = NB <= 4 ? 2 : 1;
  const float* xb[NB];
  for (int b = 0; b < NB; ++b) xb[b] = x + (b0 + b) * cols;
  const int64_t main_end = cols / (16 * kChains) * (16 * kChains);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m512 acc[kChains][NB];
    for (int c = 0; c < kChains; ++c)
      for (int b = 0; b < NB; ++b) acc[c][b] = _mm512_setzero_ps();
    for (int64_t k = 0; k < main_end; k += 16 * kChains) {
#pragma GCC unroll 2
      for (int c = 0; c < kChains; ++c) {
        const __m512 wv = load16<T>(row, k + 16 * c, 0xFFFF);
#pragma GCC unroll 8
        for (int b = 0; b < NB; ++b) acc[c][b] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xb[b] + k + 16 * c), acc[c][b]);
      }
    }
    for (int64_t k = main_end; k < cols; k += 16) {
      const int64_t left = cols - k;
      const __mmask16 m = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
      const __m512 wv = load16<T>(row, k, m);
      for (int b = 0; b < NB; ++b) acc[0][b] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, xb[b] + k), acc[0][b]);
    }
    for (int b = 0; b < NB; ++b) {
      __m512 a = acc[0][b];
      if constexpr (kChains == 2) a = _mm512_add_ps(a, acc[1][b]);
      y[(b0 + b) * ldy + r] = _mm512_reduce_add_ps(a);
    }
  }
}

// One vector whose lane 4b + r is the sum of the lanes of v<4r+b> (r, b in 0..3): a transpose-add
// tree (15 adds and 30 shuffles for 16 sums) instead of 16 horizontal sums.
BAIMO_AVX512 __attribute__((always_inline)) inline __m512 sum16(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 v4,
                                                               __m512 v5, __m512 v6, __m512 v7, __m512 v8, __m512 v9,
                                                               __m512 v10, __m512 v11, __m512 v12, __m512 v13,
                                                               __m512 v14, __m512 v15) {
  const __m512 v[16] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15};
  __m512 s1[8], s2[4], s3[2];
  // Blocks (128 bits) [a0 a1 b0 b1] + [a2 a3 b2 b3]: a's 8-lane partial, then b's.
  for (int j = 0; j < 8; ++j)
    s1[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44),
                          _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xEE));
  // Block q of s2[j]: v[4j + q]'s 4-lane partial.
  for (int j = 0; j < 4; ++j)
    s2[j] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * j], s1[2 * j + 1], 0x88),
                          _mm512_shuffle_f32x4(s1[2 * j], s1[2 * j + 1], 0xDD));
  // Block q of s3[j]: lanes 0-1 v[8j + q]'s 2-lane partial, lanes 2-3 v[8j + 4 + q]'s.
  for (int j = 0; j < 2; ++j) {
    const __m512d g = _mm512_castps_pd(s2[2 * j]), h = _mm512_castps_pd(s2[2 * j + 1]);
    s3[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(g, h)), _mm512_castpd_ps(_mm512_unpackhi_pd(g, h)));
  }
  // Block q: v[q], v[4 + q], v[8 + q], v[12 + q].
  return _mm512_add_ps(_mm512_shuffle_ps(s3[0], s3[1], 0x88), _mm512_shuffle_ps(s3[0], s3[1], 0xDD));
}

// Rows [r, r + 4) times activation rows [b0, b0 + 4): 16 accumulators (one per output), 8 loads per
// 16 multiply-adds; the 16 sums reduced together by sum16. Named accumulators, not an array: GCC
// keeps a 1 KiB array of vectors in memory (a store per multiply-add).
template <DType T>
BAIMO_AVX512 void tile4x4(const uint8_t* w, size_t row_bytes, int64_t r, const float* x, int64_t cols, int64_t b0,
                          float* y, int64_t ldy, bool prefetch) {
  const uint8_t *w0 = w + r * row_bytes, *w1 = w0 + row_bytes, *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;
  // The weight rows two tiles ahead (8 rows on: contiguous rows stream from memory), fetched while
  // this tile computes: the rows of one tile are short runs (cols elements) for the hardware
  // prefetchers. Prefetches never fault past the matrix.
  const char* pf = reinterpret_cast<const char*>(w0 + 8 * row_bytes);
  const int64_t elem = static_cast<int64_t>(dtype_bytes(T, 1));
  const float *x0 = x + b0 * cols, *x1 = x0 + cols, *x2 = x1 + cols, *x3 = x2 + cols;
#define BAIMO_ACC4(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0, a##i##3 = a##i##0
  BAIMO_ACC4(0);
  BAIMO_ACC4(1);
  BAIMO_ACC4(2);
  BAIMO_ACC4(3);
#undef BAIMO_ACC4
  for (int64_t k = 0; k < cols; k += 16) {
    if (prefetch)
      for (int i = 0; i < 4; ++i) _mm_prefetch(pf + i * row_bytes + k * elem, _MM_HINT_T0);
    const int64_t left = cols - k;
    const __mmask16 m = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
    const __m512 v0 = _mm512_maskz_loadu_ps(m, x0 + k), v1 = _mm512_maskz_loadu_ps(m, x1 + k),
                 v2 = _mm512_maskz_loadu_ps(m, x2 + k), v3 = _mm512_maskz_loadu_ps(m, x3 + k);
#define BAIMO_ROW4(i)                            \
  {                                              \
    const __m512 wv = load16<T>(w##i, k, m);     \
    a##i##0 = _mm512_fmadd_ps(wv, v0, a##i##0);  \
    a##i##1 = _mm512_fmadd_ps(wv, v1, a##i##1);  \
    a##i##2 = _mm512_fmadd_ps(wv, v2, a##i##2);  \
    a##i##3 = _mm512_fmadd_ps(wv, v3, a##i##3);  \
  }
    BAIMO_ROW4(0)
    BAIMO_ROW4(1)
    BAIMO_ROW4(2)
    BAIMO_ROW4(3)
#undef BAIMO_ROW4
  }
  const __m512 s = sum16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
  // lane 4b + i: row r + i, activation row b0 + b
  _mm_storeu_ps(y + (b0 + 0) * ldy + r, _mm512_extractf32x4_ps(s, 0));
  _mm_storeu_ps(y + (b0 + 1) * ldy + r, _mm512_extractf32x4_ps(s, 1));
  _mm_storeu_ps(y + (b0 + 2) * ldy + r, _mm512_extractf32x4_ps(s, 2));
  _mm_storeu_ps(y + (b0 + 3) * ldy + r, _mm512_extractf32x4_ps(s, 3));
}

template <DType T>
BAIMO_AVX512 void rows_any(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x, int64_t cols,
                           int64_t b0, int nb, float* y, int64_t ldy) {
  switch (nb) {
    case 1: return rows<T, 1>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 2: return rows<T, 2>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 3: return rows<T, 3>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 4: return rows<T, 4>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 5: return rows<T, 5>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 6: return rows<T, 6>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 7: return rows<T, 7>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
    case 8: return rows<T, 8>(w, row_bytes, r0, r1, x, cols, b0, y, ldy);
  }
}

}  // namespace

// Four or more activation rows: 4x4 tiles (4 weight rows stay in L1 while every group of 4
// activation rows passes), the leftover activation rows (nb % 4) and weight rows ((r1 - r0) % 4)
// by the row kernel.
template <DType T>
BAIMO_AVX512 void float_rows_avx512(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x,
                                    int64_t cols, int64_t b0, int nb, float* y, int64_t ldy) {
  if (nb < 4) return rows_any<T>(w, row_bytes, r0, r1, x, cols, b0, nb, y, ldy);
  const int full = nb / 4 * 4;
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    for (int b = 0; b < full; b += 4) tile4x4<T>(w, row_bytes, r, x, cols, b0 + b, y, ldy, b == 0);
    if (full < nb) rows_any<T>(w, row_bytes, r, r + 4, x, cols, b0 + full, nb - full, y, ldy);
  }
  if (r < r1) rows_any<T>(w, row_bytes, r, r1, x, cols, b0, nb, y, ldy);
}

template void float_rows_avx512<DType::F32>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_avx512<DType::F16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_avx512<DType::BF16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t,
                                             int64_t, int, float*, int64_t);

}  // namespace baimo::cpu::kern
