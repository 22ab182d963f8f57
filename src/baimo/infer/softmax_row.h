// Vectorisable pieces of a softmax over one logits row (the sampler's and Sequence's normalisers):
// plain loops over fixed-width lanes that GCC turns into AVX2 / AVX-512 code, with a fixed
// summation order (results depend only on the inputs, not on threads or the call site).
//   exp_nonpos(x): e^x for x <= 0 (Cephes' single-precision polynomial after a Cody-Waite range
//   reduction: within 2 ulp of expf; 0 below -87.3, where expf is subnormal or 0).
//   row_max: the largest element (n >= 1; NaN-free input).
//   exp_sum(l, n, t, m, w): sum over i of e^(l[i] / t - m) in double (the terms are float), the terms
//   written to w (n floats) and the sums of each kBlock-term block to blocks (ceil(n / kBlock)
//   doubles) when those are not null. m >= max(l) / t keeps every exponent <= 0.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace baimo::softmax {

constexpr size_t kBlock = 64;

inline float exp_nonpos(float x) {
  const float xc = std::max(x, -87.3f);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (|x / ln 2| < 2^22), r = x - n ln 2 in two parts.
  const float t = xc * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  int32_t ti;
  std::memcpy(&ti, &t, 4);
  const int32_t ni = ti - 0x4B400000;
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;  // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, 4);
  return x < -87.3f ? 0.0f : y * scale;
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
    if (t == 1.0f)
      for (size_t i = 0; i < len; ++i) out[i] = exp_nonpos(l[b0 + i] - m);
    else
      for (size_t i = 0; i < len; ++i) out[i] = exp_nonpos(l[b0 + i] / t - m);
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
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
