// AVX2 float-weight kernels of float_kernels.h: 8 columns per step, two independent accumulator
// chains per activation row for small batches (hides FMA latency), scalar tail.
#include <immintrin.h>

#include <cstring>

#include "baimo/kernels/cpu/float_kernels.h"
#include "baimo/kernels/half_float.h"

namespace baimo::cpu::kern {

namespace {

template <DType T>
inline __m256 load8(const uint8_t* row, int64_t k) {
  if constexpr (T == DType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  } else if constexpr (T == DType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
  } else {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
}

template <DType T>
inline float load1(const uint8_t* row, int64_t k) {
  if constexpr (T == DType::F32) {
    float v;
    std::memcpy(&v, row + 4 * k, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    return T == DType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <DType T, int NB>
void rows(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x, int64_t cols, int64_t b0,
          float* y, int64_t ldy) {
  constexpr int kChains = NB <= 4 ? 2 : 1;
  const float* xb[NB];
  for (int b = 0; b < NB; ++b) xb[b] = x + (b0 + b) * cols;
  const int64_t main_end = cols / (8 * kChains) * (8 * kChains);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * row_bytes;
    __m256 acc[kChains][NB];
    for (int c = 0; c < kChains; ++c)
      for (int b = 0; b < NB; ++b) acc[c][b] = _mm256_setzero_ps();
    for (int64_t k = 0; k < main_end; k += 8 * kChains) {
#pragma GCC unroll 2
      for (int c = 0; c < kChains; ++c) {
        const __m256 wv = load8<T>(row, k + 8 * c);
#pragma GCC unroll 8
        for (int b = 0; b < NB; ++b) acc[c][b] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xb[b] + k + 8 * c), acc[c][b]);
      }
    }
    for (int b = 0; b < NB; ++b) {
      __m256 a = acc[0][b];
      if constexpr (kChains == 2) a = _mm256_add_ps(a, acc[1][b]);
      float s = hsum(a);
      for (int64_t k = main_end; k < cols; ++k) s += load1<T>(row, k) * xb[b][k];
      y[(b0 + b) * ldy + r] = s;
    }
  }
}

}  // namespace

template <DType T>
void float_rows_avx2(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x, int64_t cols,
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

template void float_rows_avx2<DType::F32>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                          int, float*, int64_t);
template void float_rows_avx2<DType::F16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                          int, float*, int64_t);
template void float_rows_avx2<DType::BF16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                           int, float*, int64_t);

}  // namespace baimo::cpu::kern
