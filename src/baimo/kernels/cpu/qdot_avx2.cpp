// AVX2 kernels of qdot_kernels.h (the x86-64-v3 baseline): one 32-element block per 256-bit step.
// Q8_0: vpmaddubsw needs an unsigned operand, so it multiplies |w| by x carrying w's sign
//   (|w| <= 128, |x| <= 127: pair sums stay below 2^15, no saturation).
// Q4_0: nibbles n in 0..15 are the unsigned operand; sum (n - 8) x = sum n x - 8 sum x, the
//   correction entering as -sum(x) in each of the 8 int32 lanes.
#include <immintrin.h>

#include <cstring>

#include "baimo/kernels/cpu/qdot_kernels.h"

namespace baimo::cpu::kern {

namespace {

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One weight block k against NB activation rows, adding into acc[0..NB).
template <int NB, bool kQ4>
__attribute__((always_inline)) inline void block_step(const uint8_t* row, int64_t k, const int8_t* const* xq,
                                                      const float* const* xd, const int32_t* const* xs, __m256* acc) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34;
  const uint8_t* blk = row + k * kBlockBytes;
  uint16_t dbits;
  std::memcpy(&dbits, blk, 2);
  const float dw = _cvtsh_ss(dbits);
  __m256i wv, wabs = _mm256_setzero_si256();
  if constexpr (kQ4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    wv = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
  } else {
    wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    wabs = _mm256_sign_epi8(wv, wv);
  }
#pragma GCC unroll 8
  for (int b = 0; b < NB; ++b) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b] + k * 32));
    __m256i p32;
    if constexpr (kQ4) {
      p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, xv), _mm256_set1_epi16(1));
      p32 = _mm256_add_epi32(p32, _mm256_set1_epi32(-xs[b][k]));
    } else {
      p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xv, wv)), _mm256_set1_epi16(1));
    }
    acc[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_set1_ps(dw * xd[b][k]), acc[b]);
  }
}

template <int NB, bool kQ4>
void rows_avx2(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0, float* y,
               int64_t ldy) {
  constexpr int kChains = NB <= 4 ? 2 : 1;
  const int8_t* xq[NB];
  const float* xd[NB];
  const int32_t* xs[NB];
  for (int b = 0; b < NB; ++b) {
    xq[b] = x.row_qs(b0 + b);
    xd[b] = x.row_d(b0 + b);
    xs[b] = x.row_sum(b0 + b);
  }
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * row_bytes;
    // Two accumulator chains (even / odd blocks) for small batches hide the FMA latency.
    __m256 acc[kChains][NB];
    for (int c = 0; c < kChains; ++c)
      for (int b = 0; b < NB; ++b) acc[c][b] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + kChains <= x.blocks; k += kChains) {
#pragma GCC unroll 2
      for (int c = 0; c < kChains; ++c) block_step<NB, kQ4>(row, k + c, xq, xd, xs, acc[c]);
    }
    for (; k < x.blocks; ++k) block_step<NB, kQ4>(row, k, xq, xd, xs, acc[0]);
    for (int b = 0; b < NB; ++b) {
      __m256 a = acc[0][b];
      if constexpr (kChains == 2) a = _mm256_add_ps(a, acc[1][b]);
      y[(b0 + b) * ldy + r] = hsum256(a);
    }
  }
}

template <bool kQ4>
void dispatch_nb(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0, int nb,
                 float* y, int64_t ldy) {
  switch (nb) {
    case 1: return rows_avx2<1, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 2: return rows_avx2<2, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 3: return rows_avx2<3, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 4: return rows_avx2<4, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 5: return rows_avx2<5, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 6: return rows_avx2<6, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 7: return rows_avx2<7, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
    case 8: return rows_avx2<8, kQ4>(w, row_bytes, r0, r1, x, b0, y, ldy);
  }
}

}  // namespace

void q8_0_rows_avx2(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0, int nb,
                    float* y, int64_t ldy) {
  dispatch_nb<false>(w, row_bytes, r0, r1, x, b0, nb, y, ldy);
}

void q4_0_rows_avx2(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0, int nb,
                    float* y, int64_t ldy) {
  dispatch_nb<true>(w, row_bytes, r0, r1, x, b0, nb, y, ldy);
}

}  // namespace baimo::cpu::kern
