// Row conversions between f32 and the 16-bit storage floats, bit-identical on every ISA level:
//   F16 (IEEE binary16): f32 -> f16 rounds to nearest even, overflow gives +-inf, NaN stays NaN
//     (quiet bit set, sign and top payload bits kept); f16 -> f32 is exact (signalling NaNs come
//     back quiet), as the F16C instructions do.
//   BF16: f32 -> bf16 rounds to nearest even, NaN -> (bits >> 16) | 0x40 (quiet), f32 subnormals
//     are rounded like any other value (not flushed), which is ggml's ggml_compute_fp32_to_bf16;
//     bf16 -> f32 is exact (a shift).
// Scalar is portable C++ (no intrinsics); Avx2 uses F16C; Avx512* use 512-bit F16C forms and, for
// f32 -> bf16, vcvtneps2bf16 where the CPU has AVX512_BF16 (its flushed subnormals are patched).
// Pointers need no alignment.
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/quant/cpu_isa.h"

namespace baimo::quant {

// Portable single-value conversions (the Scalar path).
float f16_bits_to_f32(uint16_t h);
uint16_t f32_to_f16_bits(float f);
float bf16_bits_to_f32(uint16_t h);
uint16_t f32_to_bf16_bits(float f);

// src: (n), dst: (n).
void f16_to_f32_row(const uint16_t* src, float* dst, size_t n, CpuIsa isa = best_isa());
void f32_to_f16_row(const float* src, uint16_t* dst, size_t n, CpuIsa isa = best_isa());
void bf16_to_f32_row(const uint16_t* src, float* dst, size_t n, CpuIsa isa = best_isa());
void f32_to_bf16_row(const float* src, uint16_t* dst, size_t n, CpuIsa isa = best_isa());

}  // namespace baimo::quant
