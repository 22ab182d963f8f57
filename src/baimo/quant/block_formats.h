// ggml-compatible block formats Q8_0 and Q4_0 (byte-for-byte the layout of ggml's block_q8_0 /
// block_q4_0, so rows can be copied into and out of GGUF files unchanged) and their reference
// quantizers, which reproduce ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref bit for bit:
//   Q8_0: 32 elements -> f16 d, 32 int8 q.  d = amax/127, q = roundf(x * (1/d)); x ~= d*q.
//   Q4_0: 32 elements -> f16 d, 16 bytes.   m = the element of largest |x| (signed), d = m/-8,
//         q = min(15, (int8)(x*(1/d) + 8.5)); byte j holds q[j] in its low nibble and q[j+16] in
//         its high nibble; x ~= d*(q-8).
// d is computed in f32 and stored rounded to f16 (round to nearest even); the quants use the f32 d,
// exactly as ggml does. n (elements per row) must be a multiple of 32.
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/kernels/cpu/q_blocks.h"

namespace baimo::quant {

// The block structs live with the kernels that read them.
using cpu::BlockQ4_0;
using cpu::BlockQ8_0;
using cpu::kBlockElems;

// x: (n) f32 -> dst: n/32 blocks (dst need not be aligned).
void quantize_row_q8_0(const float* x, void* dst, size_t n);
void quantize_row_q4_0(const float* x, void* dst, size_t n);
// src: n/32 blocks -> y: (n) f32.
void dequantize_row_q8_0(const void* src, float* y, size_t n);
void dequantize_row_q4_0(const void* src, float* y, size_t n);

}  // namespace baimo::quant
