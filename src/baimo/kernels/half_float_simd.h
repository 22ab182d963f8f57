// Internal: the vector bodies behind half_float.h (half_float_avx2.cpp, half_float_avx512.cpp).
// Each handles any n (vector main loop + portable tail) and matches the Scalar path bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>

namespace baimo::half_simd {

void f16_to_f32_avx2(const uint16_t* src, float* dst, size_t n);
void f32_to_f16_avx2(const float* src, uint16_t* dst, size_t n);
void bf16_to_f32_avx2(const uint16_t* src, float* dst, size_t n);
void f32_to_bf16_avx2(const float* src, uint16_t* dst, size_t n);

void f16_to_f32_avx512(const uint16_t* src, float* dst, size_t n);
void f32_to_f16_avx512(const float* src, uint16_t* dst, size_t n);
void bf16_to_f32_avx512(const uint16_t* src, float* dst, size_t n);
void f32_to_bf16_avx512(const float* src, uint16_t* dst, size_t n);
void f32_to_bf16_avx512bf16(const float* src, uint16_t* dst, size_t n);  // needs AVX512_BF16

}  // namespace baimo::half_simd
