// AVX-512 float-weight kernels of float_kernels.h: 16 columns per step, two accumulator chains per
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

}  // namespace

template <DType T>
BAIMO_AVX512 void float_rows_avx512(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x,
                                    int64_t cols, int64_t b0, int nb, float* y, int64_t ldy) {
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

template void float_rows_avx512<DType::F32>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_avx512<DType::F16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_avx512<DType::BF16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t,
                                             int64_t, int, float*, int64_t);

}  // namespace baimo::cpu::kern
