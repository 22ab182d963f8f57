#include "baimo/kernels/cpu/act_quant.h"

#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <cstring>

namespace baimo::cpu {

void quantize_act_block_ref(const float* x, int8_t* q, float* d, int32_t* sum) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float scale = amax / 127.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  int32_t s = 0;
  for (int j = 0; j < 32; ++j) {
    const int v = static_cast<int>(std::roundf(x[j] * inv));  // |v| <= 127
    q[j] = static_cast<int8_t>(v);
    s += v;
  }
  *d = scale;
  *sum = s;
}

namespace {

// AVX2 (the build baseline) version of quantize_act_block_ref, bit-identical: the same f32 amax,
// scale, reciprocal and product; roundf as trunc(v) plus one step away from zero when the
// (exact, by Sterbenz) remainder v - trunc(v) is at least 0.5 in magnitude.
inline void quantize_act_block_avx2(const float* x, int8_t* q, float* d, int32_t* sum) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, v[i]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float scale = _mm_cvtss_f32(m) / 127.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  __m256i qi[4];
  __m256i s = _mm256_setzero_si256();
  for (int i = 0; i < 4; ++i) {
    __m256 p = _mm256_mul_ps(v[i], vinv);
    __asm__("" : "+x"(p));  // p must be the rounded product (as in the reference), never fused below
    const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(p, t));
    const __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ),
                                      _mm256_or_ps(one, _mm256_and_ps(sign_mask, p)));
    qi[i] = _mm256_cvtps_epi32(_mm256_add_ps(t, step));
    s = _mm256_add_epi32(s, qi[i]);
  }
  // int32 -> int8 keeping element order (packs interleave 128-bit lanes; the permute undoes it).
  const __m256i w01 = _mm256_packs_epi32(qi[0], qi[1]);
  const __m256i w23 = _mm256_packs_epi32(qi[2], qi[3]);
  const __m256i b = _mm256_packs_epi16(w01, w23);
  const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), ordered);
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
  *d = scale;
  *sum = _mm_cvtsi128_si32(s4);
}

void quantize_plain_row(const float* x, int64_t blocks, int64_t padded, int8_t* qs, float* d, int32_t* sum) {
  for (int64_t b = 0; b < blocks; ++b, x += 32, qs += 32) quantize_act_block_avx2(x, qs, &d[b], &sum[b]);
  for (int64_t b = blocks; b < padded; ++b, qs += 32) {
    std::memset(qs, 0, 32);
    d[b] = 0.0f;
    sum[b] = 0;
  }
}

// Per pair of blocks of row r: the 64 quants in the layout's order and the PairMeta, written to
// the row's tiled entries.
void add_pair_vectors(ActQ8& a, int64_t r) {
  const int8_t* q = a.row_qs(r);
  const float* d = a.row_d(r);
  const int32_t* sum = a.row_sum(r);
  const bool q4 = a.layout == ActLayout::PairsQ4;
  for (int64_t p = 0; p < a.padded_blocks / 2; ++p, q += 64) {
    const int64_t e = a.pair_entry(r, p);
    int8_t* dq = a.pair_qs.data() + e * 64;
    PairMeta& m = a.pair_meta[e];
    for (int k = 0; k < 2; ++k) {
      m.corr[k] = q4 ? -sum[2 * p + k] : -16 * sum[2 * p + k];
      m.d[k] = d[2 * p + k];
    }
    if (q4) {
      std::memcpy(dq + 0, q + 0, 16);    // block 0, elements 0..15
      std::memcpy(dq + 16, q + 32, 16);  // block 1, elements 0..15
      std::memcpy(dq + 32, q + 16, 16);  // block 0, elements 16..31
      std::memcpy(dq + 48, q + 48, 16);  // block 1, elements 16..31
    } else {
      std::memcpy(dq, q, 64);
    }
  }
}

}  // namespace

void ActQ8::quantize(const float* x, int64_t nrows, int64_t ncols, ActLayout lay) {
  layout = lay;
  rows = nrows;
  cols = ncols;
  blocks = ncols / 32;
  padded_blocks = (blocks + 1) / 2 * 2;
  qs.resize(static_cast<size_t>(rows * padded_blocks * 32));
  d.resize(static_cast<size_t>(rows * padded_blocks));
  sum.resize(static_cast<size_t>(rows * padded_blocks));
  const bool pairs = layout != ActLayout::Plain;
  if (pairs) {
    pair_qs.resize(static_cast<size_t>(rows * padded_blocks * 32));
    pair_meta.resize(static_cast<size_t>(rows * padded_blocks / 2));
  }
  auto row = [&](int64_t r) {
    int8_t* q = qs.data() + r * padded_blocks * 32;
    float* dr = d.data() + r * padded_blocks;
    int32_t* sr = sum.data() + r * padded_blocks;
    quantize_plain_row(x + r * cols, blocks, padded_blocks, q, dr, sr);
    if (pairs) add_pair_vectors(*this, r);
  };
  // Inside a parallel region (the engine's decode team quantizes per thread) no nested region:
  // even an inactive one costs about a microsecond.
  if (rows >= 4 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) row(r);
  } else {
    for (int64_t r = 0; r < rows; ++r) row(r);
  }
}

}  // namespace baimo::cpu
