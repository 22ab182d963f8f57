// AVX-512 VNNI + VBMI kernel for packed 2:4-sparse Q8_0 weights (weight_pack.h, Q8_0_S24 entries).
// One zmm holds 4 kept quants of each of 16 rows; unlike dense weights, each row pairs them with
// other activations, so per chunk c (inputs 8c .. 8c+7) the activation bytes are gathered per lane:
//   positions: vpmultishiftqb picks each kept value's 2 bits out of its row's idx word, vpternlogd
//              adds the group base (8c, 8c, 8c+4, 8c+4), vpermb gathers the activation quants there;
//   product:   vpdpbusd of the gathered activations as u8 (x + 128) with the s8 weights, which adds
//              128 * sum(w) per row: subtracted with a vpdpbusd of the weights against ones, computed
//              once per block for every activation row.
// The block's int32 dot then goes through the same convert and multiply-add as the dense Q8_0
// kernel (packed_avx512vnni.cpp): results equal it bit for bit.
// GCC 12 reports its own _mm512_undefined_* as maybe-uninitialized inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"

#define BAIMO_VBMI_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,f16c")))

namespace baimo::cpu::kern {

namespace {

constexpr size_t kS24Entry = packed_entry_bytes(DType::Q8_0_S24);
constexpr size_t kS24PrefetchEntries = 24;

// Per chunk c: the multishift control (bit offset of kept value 4c + s of the dword's row: the row's
// idx word holds chunk c's positions in its byte c) and the group base of each lane's byte s.
BAIMO_VBMI_TARGET inline __m512i shift_control(int c) {
  uint64_t q = 0;
  for (int half = 0; half < 2; ++half)
    for (int s = 0; s < 4; ++s) q |= static_cast<uint64_t>(32 * half + 8 * c + 2 * s) << (8 * (4 * half + s));
  return _mm512_set1_epi64(static_cast<long long>(q));
}
BAIMO_VBMI_TARGET inline __m512i group_base(int c) {
  const uint32_t b = 8u * c;
  return _mm512_set1_epi32(static_cast<int>(b | b << 8 | (b + 4) << 16 | (b + 4) << 24));
}

template <int NB>
BAIMO_VBMI_TARGET void packed_s24(const uint8_t* packed, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0,
                                  float* y, int64_t ldy, int64_t rows) {
  const int64_t blocks = x.blocks;
  const int8_t* xq[NB];
  const float* xd[NB];
  for (int b = 0; b < NB; ++b) {
    xq[b] = x.row_qs(b0 + b);
    xd[b] = x.row_d(b0 + b);
  }
  __m512i control[4], base[4];
  for (int c = 0; c < 4; ++c) {
    control[c] = shift_control(c);
    base[c] = group_base(c);
  }
  const __m512i three = _mm512_set1_epi8(3);
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* e = packed + static_cast<size_t>(g * blocks) * kS24Entry;
    __m512 acc[NB];
    for (int b = 0; b < NB; ++b) acc[b] = _mm512_setzero_ps();
    for (int64_t k = 0; k < blocks; ++k, e += kS24Entry) {
      for (size_t o = 0; o < kS24Entry; o += 64)
        _mm_prefetch(reinterpret_cast<const char*>(e + kS24PrefetchEntries * kS24Entry + o), _MM_HINT_T0);
      const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e)));
      const __m512i idx = _mm512_loadu_si512(e + 32);
      __m512i wv[4], pos[4];
      __m512i wsum = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        wv[c] = _mm512_loadu_si512(e + 96 + 64 * c);
        // (bits & 3) | base: 0xEA is A & B | C.
        pos[c] = _mm512_ternarylogic_epi32(_mm512_multishift_epi64_epi8(control[c], idx), three, base[c], 0xEA);
        wsum = _mm512_dpbusd_epi32(wsum, ones, wv[c]);
      }
      const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(wsum, 7));
#pragma GCC unroll 8
      for (int b = 0; b < NB; ++b) {
        // The block's 32 activation quants as u8, in both 256-bit halves (vpermb reads indices 0..31).
        const __m512i xb = _mm512_xor_si512(
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b] + k * 32))), flip);
        __m512i i0 = _mm512_dpbusd_epi32(start, _mm512_permutexvar_epi8(pos[0], xb), wv[0]);
        __m512i i1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_permutexvar_epi8(pos[1], xb), wv[1]);
        i0 = _mm512_dpbusd_epi32(i0, _mm512_permutexvar_epi8(pos[2], xb), wv[2]);
        i1 = _mm512_dpbusd_epi32(i1, _mm512_permutexvar_epi8(pos[3], xb), wv[3]);
        const __m512 scale = _mm512_mul_ps(ws, _mm512_set1_ps(xd[b][k]));
        acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), scale, acc[b]);
      }
    }
    const int64_t left = rows - g * kPackRows;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
    for (int b = 0; b < NB; ++b) _mm512_mask_storeu_ps(y + (b0 + b) * ldy + g * kPackRows, m, acc[b]);
  }
}

}  // namespace

BAIMO_VBMI_TARGET void packed_q8_0_s24_avx512vbmi(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x,
                                                  int64_t b0, int nb, float* y, int64_t ldy, int64_t rows) {
  switch (nb) {
    case 1: return packed_s24<1>(p, g0, g1, x, b0, y, ldy, rows);
    case 2: return packed_s24<2>(p, g0, g1, x, b0, y, ldy, rows);
    case 3: return packed_s24<3>(p, g0, g1, x, b0, y, ldy, rows);
    case 4: return packed_s24<4>(p, g0, g1, x, b0, y, ldy, rows);
    case 5: return packed_s24<5>(p, g0, g1, x, b0, y, ldy, rows);
    case 6: return packed_s24<6>(p, g0, g1, x, b0, y, ldy, rows);
    case 7: return packed_s24<7>(p, g0, g1, x, b0, y, ldy, rows);
    case 8: return packed_s24<8>(p, g0, g1, x, b0, y, ldy, rows);
  }
}

}  // namespace baimo::cpu::kern
