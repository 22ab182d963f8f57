// Scalar math written so that GCC vectorizes loops calling it (no libm calls, no branches):
// exp via Cephes-style range reduction and a degree-6 polynomial (max rel. error ~2e-7 over
// [-87, 88]; inputs below -87.3 give ~1e-38 instead of 0, callers mask exact zeros themselves).
// Included by the per-ISA kernel files, so it is compiled for AVX2 and for AVX-512.
#pragma once
#include <cstdint>
#include <cstring>

namespace baimo::cpu {

static inline float vexp(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // Round x / ln2 to the nearest integer n with the 1.5 * 2^23 trick (no float->int conversion,
  // so the vectorizer accepts it); the integer sits in the low mantissa bits of t.
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  int32_t tb;
  std::memcpy(&tb, &t, sizeof(tb));
  const int32_t bits = (tb - 0x4B400000 + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

static inline float vsigmoid(float x) { return 1.0f / (1.0f + vexp(-x)); }

}  // namespace baimo::cpu
