// AVX-512 bodies of half_float.h. Every function here carries a target attribute; the file is
// otherwise compiled for the x86-64-v3 baseline, so nothing here runs unless dispatch chose it.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "baimo/kernels/half_float.h"
#include "baimo/kernels/half_float_simd.h"

#define BAIMO_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define BAIMO_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace baimo::half_simd {

BAIMO_AVX512 void f16_to_f32_avx512(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  for (; i < n; ++i) dst[i] = f16_bits_to_f32(src[i]);
}

BAIMO_AVX512 void f32_to_f16_avx512(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = f32_to_f16_bits(src[i]);
}

BAIMO_AVX512 void bf16_to_f32_avx512(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    _mm512_storeu_si512(dst + i, _mm512_slli_epi32(w, 16));
  }
  for (; i < n; ++i) dst[i] = bf16_bits_to_f32(src[i]);
}

// Integer rounding of 16 lanes: (bits + 0x7fff + lsb) >> 16; NaN lanes -> (bits >> 16) | 0x40.
BAIMO_AVX512 static inline __m512i f32_to_bf16_16(__m512i x) {
  const __m512i hi = _mm512_srli_epi32(x, 16);
  const __m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(r, is_nan, hi, _mm512_set1_epi32(0x40));
}

BAIMO_AVX512 void f32_to_bf16_avx512(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i r = f32_to_bf16_16(_mm512_loadu_si512(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(r));
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16_bits(src[i]);
}

// vcvtneps2bf16 rounds to nearest even and quiets NaNs exactly like the integer formula, but
// treats f32 subnormal inputs as zero; those lanes (exponent 0, mantissa != 0) are recomputed.
BAIMO_AVX512BF16 void f32_to_bf16_avx512bf16(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    __m256i r = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
    const __m512i x = _mm512_castps_si512(v);
    const __mmask16 sub = _mm512_test_epi32_mask(x, _mm512_set1_epi32(0x007fffff)) &
                          ~_mm512_test_epi32_mask(x, _mm512_set1_epi32(0x7f800000));
    if (sub) r = _mm256_mask_mov_epi16(r, sub, _mm512_cvtepi32_epi16(f32_to_bf16_16(x)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16_bits(src[i]);
}

}  // namespace baimo::half_simd
