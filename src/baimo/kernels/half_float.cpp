#include "baimo/kernels/half_float.h"

#include <cstdint>
#include <cstring>

#include "baimo/kernels/half_float_simd.h"

namespace baimo {

using cpu::CpuIsa;

namespace {
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return float_of(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in f32.
    const float mag = static_cast<float>(mant) * float_of(0x33800000u);  // 2^-24
    return float_of(sign | bits_of(mag));
  }
  return float_of(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t f32_to_f16_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((a >> 13) & 0x3ffu);  // NaN
  if (a == 0x7f800000u) return sign | 0x7c00u;                                              // inf
  const uint32_t exp = a >> 23;
  if (exp >= 113) {  // normal in f16 (before rounding): rebias, round the 13 dropped bits
    uint32_t h = ((a - (112u << 23)) + 0xfffu + ((a >> 13) & 1u)) >> 13;
    if (h >= 0x7c00u) h = 0x7c00u;  // rounds past the largest finite -> inf
    return sign | static_cast<uint16_t>(h);
  }
  if (exp == 0) return sign;  // f32 subnormals are far below half the smallest f16 subnormal
  // f16 subnormal (or zero): value = mant * 2^(exp-150) in units of 2^-24 is mant >> (126-exp).
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - exp;  // >= 14
  if (shift >= 32) return sign;
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal: fine
  return sign | static_cast<uint16_t>(q);
}

float bf16_bits_to_f32(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16_bits(float f) {
  const uint32_t x = bits_of(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void f16_to_f32_row(const uint16_t* src, float* dst, size_t n, CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bw) return half_simd::f16_to_f32_avx512(src, dst, n);
  if (isa >= CpuIsa::Avx2) return half_simd::f16_to_f32_avx2(src, dst, n);
  for (size_t i = 0; i < n; ++i) dst[i] = f16_bits_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, size_t n, CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bw) return half_simd::f32_to_f16_avx512(src, dst, n);
  if (isa >= CpuIsa::Avx2) return half_simd::f32_to_f16_avx2(src, dst, n);
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_f16_bits(src[i]);
}

void bf16_to_f32_row(const uint16_t* src, float* dst, size_t n, CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bw) return half_simd::bf16_to_f32_avx512(src, dst, n);
  if (isa >= CpuIsa::Avx2) return half_simd::bf16_to_f32_avx2(src, dst, n);
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_bits_to_f32(src[i]);
}

void f32_to_bf16_row(const float* src, uint16_t* dst, size_t n, CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bw) {
    if (cpu::cpu_has_avx512_bf16()) return half_simd::f32_to_bf16_avx512bf16(src, dst, n);
    return half_simd::f32_to_bf16_avx512(src, dst, n);
  }
  if (isa >= CpuIsa::Avx2) return half_simd::f32_to_bf16_avx2(src, dst, n);
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16_bits(src[i]);
}

// The byte forms: aligned buffers go straight through the rows; others through an aligned chunk.
namespace {
constexpr size_t kChunk = 1024;
bool aligned2(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 1u) == 0; }

template <class Row>
void from_bytes(const uint8_t* src, float* dst, size_t n, Row row) {
  if (aligned2(src)) return row(reinterpret_cast<const uint16_t*>(src), dst, n, cpu::best_isa());
  uint16_t buf[kChunk];
  for (size_t i = 0; i < n; i += kChunk) {
    const size_t m = n - i < kChunk ? n - i : kChunk;
    std::memcpy(buf, src + 2 * i, 2 * m);
    row(buf, dst + i, m, cpu::best_isa());
  }
}

template <class Row>
void to_bytes(const float* src, uint8_t* dst, size_t n, Row row) {
  if (aligned2(dst)) return row(src, reinterpret_cast<uint16_t*>(dst), n, cpu::best_isa());
  uint16_t buf[kChunk];
  for (size_t i = 0; i < n; i += kChunk) {
    const size_t m = n - i < kChunk ? n - i : kChunk;
    row(src + i, buf, m, cpu::best_isa());
    std::memcpy(dst + 2 * i, buf, 2 * m);
  }
}
}  // namespace

void f16_bytes_to_f32(const uint8_t* src, float* dst, size_t n) { from_bytes(src, dst, n, f16_to_f32_row); }
void bf16_bytes_to_f32(const uint8_t* src, float* dst, size_t n) { from_bytes(src, dst, n, bf16_to_f32_row); }
void f32_to_f16_bytes(const float* src, uint8_t* dst, size_t n) { to_bytes(src, dst, n, f32_to_f16_row); }
void f32_to_bf16_bytes(const float* src, uint8_t* dst, size_t n) { to_bytes(src, dst, n, f32_to_bf16_row); }

}  // namespace baimo
