// The one f32 <-> 16-bit storage float converter of baimo (IEEE binary16 "F16" and bfloat16 "BF16"),
// bit-identical on every ISA level:
//   F16: f32 -> f16 rounds to nearest even, overflow gives +-inf, NaN stays NaN (quiet bit set, sign
//     and top payload bits kept); f16 -> f32 is exact (signalling NaNs come back quiet), as the F16C
//     instructions do.
//   BF16: f32 -> bf16 rounds to nearest even, NaN -> (bits >> 16) | 0x40 (quiet), f32 subnormals
//     are rounded like any other value (not flushed), which is ggml's ggml_compute_fp32_to_bf16;
//     bf16 -> f32 is exact (a shift).
// Why here: kernels/ is the lowest module that needs it (the float-weight and block kernels read
// f16 scales and elements), and io/ (safetensors), quant/ (block formats, row_convert) sit above
// kernels/ and use it too: one implementation (portable single values, SIMD rows) for all three.
// Rows: Scalar is portable C++ (no intrinsics); Avx2 uses F16C; Avx512* use 512-bit F16C forms and,
// for f32 -> bf16, vcvtneps2bf16 where the CPU has AVX512_BF16 (its flushed subnormals are
// patched). The isa (<= cpu::best_isa()) pins a level for tests. Pointers need no alignment.
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/kernels/cpu/cpu_features.h"

namespace baimo {

// Single values (portable; the Scalar path of the rows).
float f16_bits_to_f32(uint16_t h);
uint16_t f32_to_f16_bits(float f);
float bf16_bits_to_f32(uint16_t h);
uint16_t f32_to_bf16_bits(float f);

// Rows. src: (n), dst: (n).
void f16_to_f32_row(const uint16_t* src, float* dst, size_t n, cpu::CpuIsa isa = cpu::best_isa());
void f32_to_f16_row(const float* src, uint16_t* dst, size_t n, cpu::CpuIsa isa = cpu::best_isa());
void bf16_to_f32_row(const uint16_t* src, float* dst, size_t n, cpu::CpuIsa isa = cpu::best_isa());
void f32_to_bf16_row(const float* src, uint16_t* dst, size_t n, cpu::CpuIsa isa = cpu::best_isa());

// Rows as raw little-endian bytes at any alignment (file buffers): src holds n 16-bit values
// (2n bytes) -> dst n floats; or n floats -> dst 2n bytes. The same results as the rows above.
void f16_bytes_to_f32(const uint8_t* src, float* dst, size_t n);
void bf16_bytes_to_f32(const uint8_t* src, float* dst, size_t n);
void f32_to_f16_bytes(const float* src, uint8_t* dst, size_t n);
void f32_to_bf16_bytes(const float* src, uint8_t* dst, size_t n);

}  // namespace baimo
