// Conversions between f32 and the 16-bit storage floats (IEEE binary16 "F16" and bfloat16 "BF16").
// Contract: f32 -> 16-bit rounds to nearest even; NaN stays NaN, overflow becomes inf;
// 16-bit -> f32 is exact. Bulk versions take raw little-endian bytes (any alignment).
#pragma once
#include <cstddef>
#include <cstdint>

namespace baimo {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

// src holds n 16-bit values (2n bytes, little-endian, unaligned is fine); dst n floats.
void f16_bytes_to_f32(const uint8_t* src, float* dst, size_t n);
void bf16_bytes_to_f32(const uint8_t* src, float* dst, size_t n);
// dst receives 2n bytes.
void f32_to_f16_bytes(const float* src, uint8_t* dst, size_t n);
void f32_to_bf16_bytes(const float* src, uint8_t* dst, size_t n);

}  // namespace baimo
