// AVX2 kernels for packed weights (weight_pack.h), also used at the AVX-512 BW level: a 256-bit
// vector holds 4 quants of each of 8 rows (half a group); vpmaddubsw + vpmaddwd against a
// broadcast of 4 activation quants add a 4-element dot into each row's int32 lane.
// Q4_0: nibbles n (u8) times x, the low-nibble and high-nibble int16 products summed before
//   widening (|sum| <= 4 * 15 * 127), start -8 sum(x). Q8_0: |w| times x carrying w's sign.
// Up to 4 activation rows per pass (register budget of 16 ymm); larger nb runs in passes.
#include <immintrin.h>

#include <cstring>

#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"

namespace baimo::cpu::kern {

namespace {

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

template <int NB, bool kQ4>
void packed_avx2(const uint8_t* packed, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, float* y, int64_t ldy,
                 int64_t rows) {
  constexpr size_t kEntry = packed_entry_bytes(kQ4 ? DType::Q4_0 : DType::Q8_0);
  const int64_t blocks = x.blocks;
  const int8_t* xq[NB];
  const float* xd[NB];
  const int32_t* xs[NB];
  for (int b = 0; b < NB; ++b) {
    xq[b] = x.row_qs(b0 + b);
    xd[b] = x.row_d(b0 + b);
    xs[b] = x.row_sum(b0 + b);
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t g = g0; g < g1; ++g) {
    for (int h = 0; h < 2; ++h) {  // rows 0-7, then 8-15 of the group
      const uint8_t* e = packed + static_cast<size_t>(g * blocks) * kEntry;
      __m256 acc[NB];
      for (int b = 0; b < NB; ++b) acc[b] = _mm256_setzero_ps();
      for (int64_t k = 0; k < blocks; ++k, e += kEntry) {
        const __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(e + 16 * h)));
        __m256i isum[NB];
        for (int b = 0; b < NB; ++b) isum[b] = kQ4 ? _mm256_set1_epi32(-8 * xs[b][k]) : _mm256_setzero_si256();
        for (int c = 0; c < (kQ4 ? 4 : 8); ++c) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 32 + 64 * c + 32 * h));
          if constexpr (kQ4) {
            const __m256i lo = _mm256_and_si256(v, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            for (int b = 0; b < NB; ++b) {
              const int8_t* q = xq[b] + k * 32;
              const __m256i p16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(q + 4 * c)),
                                                   _mm256_maddubs_epi16(hi, bcast4(q + 16 + 4 * c)));
              isum[b] = _mm256_add_epi32(isum[b], _mm256_madd_epi16(p16, ones));
            }
          } else {
            const __m256i a = _mm256_sign_epi8(v, v);
            for (int b = 0; b < NB; ++b) {
              const __m256i sx = _mm256_sign_epi8(bcast4(xq[b] + k * 32 + 4 * c), v);
              isum[b] = _mm256_add_epi32(isum[b], _mm256_madd_epi16(_mm256_maddubs_epi16(a, sx), ones));
            }
          }
        }
        for (int b = 0; b < NB; ++b)
          acc[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[b]), _mm256_mul_ps(ws, _mm256_set1_ps(xd[b][k])), acc[b]);
      }
      const int64_t row0 = g * kPackRows + 8 * h;
      for (int b = 0; b < NB; ++b) {
        float* dst = y + (b0 + b) * ldy + row0;
        if (rows - row0 >= 8) {
          _mm256_storeu_ps(dst, acc[b]);
        } else {
          alignas(32) float tmp[8];
          _mm256_store_ps(tmp, acc[b]);
          for (int64_t r = 0; r < rows - row0; ++r) dst[r] = tmp[r];
        }
      }
    }
  }
}

template <bool kQ4>
void dispatch(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y, int64_t ldy,
              int64_t rows) {
  while (nb > 0) {
    const int n = nb > 4 ? 4 : nb;
    switch (n) {
      case 1: packed_avx2<1, kQ4>(p, g0, g1, x, b0, y, ldy, rows); break;
      case 2: packed_avx2<2, kQ4>(p, g0, g1, x, b0, y, ldy, rows); break;
      case 3: packed_avx2<3, kQ4>(p, g0, g1, x, b0, y, ldy, rows); break;
      case 4: packed_avx2<4, kQ4>(p, g0, g1, x, b0, y, ldy, rows); break;
    }
    b0 += n;
    nb -= n;
  }
}

}  // namespace

void packed_q8_0_avx2(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                      int64_t ldy, int64_t rows) {
  dispatch<false>(p, g0, g1, x, b0, nb, y, ldy, rows);
}
void packed_q4_0_avx2(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                      int64_t ldy, int64_t rows) {
  dispatch<true>(p, g0, g1, x, b0, nb, y, ldy, rows);
}

}  // namespace baimo::cpu::kern
