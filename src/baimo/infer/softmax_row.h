// Vectorisable pieces of a softmax over one logits row (the sampler's and Sequence's normalisers):
// plain loops over fixed-width lanes that GCC turns into AVX2 / AVX-512 code, with a fixed
// summation order (results depend only on the inputs, not on threads or the call site).
//   exp_nonpos(x), exp_nonpos8 (8 lanes, the same bits): e^x for x <= 0 (Cephes' single-precision polynomial after a Cody-Waite range
//   reduction: within 2 ulp of expf; 0 below -87.3, where expf is subnormal or 0).
//   row_max: the largest element (n >= 1; NaN-free input).
//   exp_sum(l, n, t, m, w): sum over i of e^(l[i] / t - m) in double (the terms are float), the terms
//   written to w (n floats) and the sums of each kBlock-term block to blocks (ceil(n / kBlock)
//   doubles) when those are not null. m >= max(l) / t keeps every exponent <= 0.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace baimo::softmax {

constexpr size_t kBlock = 64;

// Every multiply-add is an explicit fma, so that the vector version (8 lanes, AVX2: the build's
// baseline, x86-64-v3) and the scalar one (tails) give the same bits.
inline float exp_nonpos(float x) {
  const float xc = x > -87.3f ? x : -87.3f;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (|x / ln 2| < 2^22), r = x - n ln 2 in two parts.
  const float t = std::fma(xc, 1.44269504088896341f, 12582912.0f);
  const float n = t - 12582912.0f;
  const int32_t ni = std::bit_cast<int32_t>(t) - 0x4B400000;
  const float r = std::fma(n, 2.12194440e-4f, std::fma(n, -0.693359375f, xc));
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  const float y = std::fma(p, r * r, r) + 1.0f;
  const float e = y * std::bit_cast<float>((ni + 127) << 23);  // 2^n, n in [-126, 0]
  return x < -87.3f ? 0.0f : e;
}

inline __m256 exp_nonpos8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f), magic = _mm256_set1_ps(12582912.0f);
  const __m256 xc = _mm256_max_ps(x, lo);
  const __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 n = _mm256_sub_ps(t, magic);
  const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
  const __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f),
                                   _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), xc));
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
  return _mm256_and_ps(_mm256_mul_ps(y, scale), _mm256_cmp_ps(x, lo, _CMP_GE_OQ));
}

inline float row_max(const float* l, size_t n) {
  constexpr size_t W = 16;
  float m[W];
  for (size_t j = 0; j < W; ++j) m[j] = l[0];
  size_t i = 0;
  for (; i + W <= n; i += W)
    for (size_t j = 0; j < W; ++j) m[j] = std::max(m[j], l[i + j]);
  float r = l[0];
  for (size_t j = 0; j < W; ++j) r = std::max(r, m[j]);
  for (; i < n; ++i) r = std::max(r, l[i]);
  return r;
}

inline double exp_sum(const float* l, size_t n, float t, float m, float* w, double* blocks) {
  float buf[kBlock];
  double total = 0;
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t len = std::min(kBlock, n - b0);
    float* out = w ? w + b0 : buf;
    const float* in = l + b0;
    const __m256 vm = _mm256_set1_ps(m), vt = _mm256_set1_ps(t);
    size_t i = 0;
    if (t == 1.0f) {
      for (; i + 8 <= len; i += 8) _mm256_storeu_ps(out + i, exp_nonpos8(_mm256_sub_ps(_mm256_loadu_ps(in + i), vm)));
      for (; i < len; ++i) out[i] = exp_nonpos(in[i] - m);
    } else {
      for (; i + 8 <= len; i += 8)
        _mm256_storeu_ps(out + i, exp_nonpos8(_mm256_sub_ps(_mm256_div_ps(_mm256_loadu_ps(in + i), vt), vm)));
      for (; i < len; ++i) out[i] = exp_nonpos(in[i] / t - m);
    }
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    i = 0;
    for (; i + 8 <= len; i += 8)
      for (size_t j = 0; j < 8; ++j) acc[j] += static_cast<double>(out[i + j]);
    for (; i < len; ++i) acc[0] += static_cast<double>(out[i]);
    const double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    if (blocks) blocks[b0 / kBlock] = s;
    total += s;
  }
  return total;
}

}  // namespace baimo::softmax
