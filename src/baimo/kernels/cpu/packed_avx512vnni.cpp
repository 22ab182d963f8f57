// AVX-512 VNNI kernels for packed weights (weight_pack.h): one zmm = 4 quants of each of 16 rows,
// so vpdpbusd against a broadcast of 4 activation quants adds a 4-element dot into each row's
// lane. Per block: Q4_0 uses the nibbles n (u8) directly and starts from -8 sum(x); Q8_0 flips
// w to w + 128 (xor 0x80, u8) and starts from -128 sum(x). Then one convert and one multiply-add
// with the 16 row scales times the activation scale. Two int32 chains per block hide latency.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"

#define BAIMO_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,f16c")))

namespace baimo::cpu::kern {

namespace {

constexpr size_t kPrefetchEntries = 24;  // software prefetch distance, in block entries

BAIMO_VNNI_TARGET inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int NB, bool kQ4>
BAIMO_VNNI_TARGET void packed_vnni(const uint8_t* packed, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0,
                                   float* y, int64_t ldy, int64_t rows) {
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
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* e = packed + static_cast<size_t>(g * blocks) * kEntry;
    __m512 acc[NB];
    for (int b = 0; b < NB; ++b) acc[b] = _mm512_setzero_ps();
    for (int64_t k = 0; k < blocks; ++k, e += kEntry) {
      for (size_t o = 0; o < kEntry; o += 64)
        _mm_prefetch(reinterpret_cast<const char*>(e + kPrefetchEntries * kEntry + o), _MM_HINT_T0);
      const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e)));
      constexpr int kChunks = kQ4 ? 4 : 8;
      __m512i wv[kQ4 ? 8 : 8];
      for (int c = 0; c < kChunks; ++c) {
        const __m512i v = _mm512_loadu_si512(e + 32 + 64 * c);
        if constexpr (kQ4) {
          wv[c] = _mm512_and_si512(v, low4);                             // elements 4c .. 4c+3
          wv[4 + c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);  // elements 16+4c ..
        } else {
          wv[c] = _mm512_xor_si512(v, flip);
        }
      }
#pragma GCC unroll 8
      for (int b = 0; b < NB; ++b) {
        const int8_t* q = xq[b] + k * 32;
        __m512i i0 = _mm512_set1_epi32((kQ4 ? -8 : -128) * xs[b][k]);
        __m512i i1 = _mm512_setzero_si512();
        // wv[j] pairs with activation quants 4j .. 4j+3 in both formats.
#pragma GCC unroll 8
        for (int j = 0; j < 8; j += 2) {
          i0 = _mm512_dpbusd_epi32(i0, wv[j], bcast4(q + 4 * j));
          i1 = _mm512_dpbusd_epi32(i1, wv[j + 1], bcast4(q + 4 * j + 4));
        }
        const __m512 scale = _mm512_mul_ps(ws, _mm512_set1_ps(xd[b][k]));
        acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), scale, acc[b]);
      }
    }
    const int64_t left = rows - g * kPackRows;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
    for (int b = 0; b < NB; ++b) _mm512_mask_storeu_ps(y + (b0 + b) * ldy + g * kPackRows, m, acc[b]);
  }
}

template <bool kQ4>
BAIMO_VNNI_TARGET void dispatch(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb,
                                float* y, int64_t ldy, int64_t rows) {
  switch (nb) {
    case 1: return packed_vnni<1, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 2: return packed_vnni<2, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 3: return packed_vnni<3, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 4: return packed_vnni<4, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 5: return packed_vnni<5, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 6: return packed_vnni<6, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 7: return packed_vnni<7, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
    case 8: return packed_vnni<8, kQ4>(p, g0, g1, x, b0, y, ldy, rows);
  }
}

}  // namespace

BAIMO_VNNI_TARGET void packed_q8_0_avx512vnni(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0,
                                              int nb, float* y, int64_t ldy, int64_t rows) {
  dispatch<false>(p, g0, g1, x, b0, nb, y, ldy, rows);
}
BAIMO_VNNI_TARGET void packed_q4_0_avx512vnni(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0,
                                              int nb, float* y, int64_t ldy, int64_t rows) {
  dispatch<true>(p, g0, g1, x, b0, nb, y, ldy, rows);
}

}  // namespace baimo::cpu::kern
