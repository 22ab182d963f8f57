// Q8_0_S24: baimo's compact storage of a 2:4-sparse matrix at Q8_0 precision (2 nonzeros at most in
// every group of 4 consecutive inputs of a row: what `baimo prune --pattern 2:4` leaves). A block of
// 32 inputs keeps Q8_0's f16 scale and the 16 quants of the kept positions, plus 2 bits per kept
// value for its position in its group (kernels/cpu/q_blocks.h, BlockQ8_0S24): 22 bytes instead of
// Q8_0's 34 (0.65x). Dequantized, a Q8_0_S24 row equals the Q8_0 row of the same input exactly, and
// the engine's products equal Q8_0's bit for bit (kernels/cpu/weight_pack.h).
// - first_2of4_violation(x, n): the index of the first group of 4 with more than 2 nonzero values,
//   or -1 when the row is 2:4-sparse (n a multiple of 4).
// - quantize_row_q8_0_s24: x must be 2:4-sparse (baimo::Error naming the group otherwise); a group with
//   fewer than 2 nonzeros keeps zeros at its lowest free positions. n a multiple of 32.
// - dequantize_row_q8_0_s24, expand_row_q8_0_s24: back to f32, or to Q8_0 blocks (bit-exact).
#pragma once
#include <cstddef>
#include <cstdint>

namespace baimo::quant {

int64_t first_2of4_violation(const float* x, size_t n);

void quantize_row_q8_0_s24(const float* x, void* dst, size_t n);
void dequantize_row_q8_0_s24(const void* src, float* y, size_t n);
void expand_row_q8_0_s24(const void* src, void* dst_q8_0, size_t n);

}  // namespace baimo::quant
