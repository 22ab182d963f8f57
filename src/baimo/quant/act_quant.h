// ActQ8: activation rows quantized on the fly for the integer dot products of quantized matmuls
// (the role ggml's block_q8_0 / q8_1 play for activations).
// Per row of `cols` f32 (cols a multiple of 32), per block of 32: int8 quants q = roundf(x / d) with
// d = amax / 127 kept in f32 (not rounded to f16, unlike the weight format), and the block sum of
// the quants, which the kernels use to undo their unsigned-offset tricks. Rows are padded to an
// even number of blocks with zero quants, zero scale and zero sum, so kernels may process blocks in
// pairs. Quantization is deterministic and independent of the ISA and of the layout.
// Layouts (what the kernel that consumes it expects):
//   Plain   : qs in element order; d and sum per block. (scalar, AVX2)
//   PairsQ8 : as Plain, plus per pair of blocks 16-lane vectors pair_scale = [d0 x8, d1 x8] and
//             pair_corr = [-16 s0 x8, -16 s1 x8]. (AVX-512, Q8_0 weights)
//   PairsQ4 : qs of each pair reordered to [b0 0..15, b1 0..15, b0 16..31, b1 16..31] (matching the
//             cheapest unpacking of two Q4_0 blocks' nibbles), pair_scale = [d0 x4, d1 x4, d0 x4,
//             d1 x4], pair_corr = -s in the same lane pattern. (AVX-512, Q4_0 weights)
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace baimo::quant {

enum class ActLayout { Plain, PairsQ8, PairsQ4 };

// Reference quantizer of one block (32 values): *d = amax / 127, q = roundf(x * (1 / *d)) (half
// away from zero), *sum = sum of q. ActQ8::quantize gives bit-identical results with AVX2.
void quantize_act_block_ref(const float* x, int8_t* q, float* d, int32_t* sum);

struct ActQ8 {
  ActLayout layout = ActLayout::Plain;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t blocks = 0;         // cols / 32
  int64_t padded_blocks = 0;  // blocks rounded up to even: the row stride in blocks
  std::vector<int8_t> qs;     // (rows, padded_blocks * 32)
  std::vector<float> d;       // (rows, padded_blocks)
  std::vector<int32_t> sum;   // (rows, padded_blocks)
  std::vector<float> pair_scale;   // Pairs*: (rows, padded_blocks / 2, 16)
  std::vector<int32_t> pair_corr;  // Pairs*: (rows, padded_blocks / 2, 16)

  // x: (rows, cols) f32, row-major. Reuses the vectors' capacity (no allocation once warm).
  void quantize(const float* x, int64_t rows, int64_t cols, ActLayout layout = ActLayout::Plain);

  const int8_t* row_qs(int64_t r) const { return qs.data() + r * padded_blocks * 32; }
  const float* row_d(int64_t r) const { return d.data() + r * padded_blocks; }
  const int32_t* row_sum(int64_t r) const { return sum.data() + r * padded_blocks; }
  const float* row_pair_scale(int64_t r) const { return pair_scale.data() + r * padded_blocks * 8; }
  const int32_t* row_pair_corr(int64_t r) const { return pair_corr.data() + r * padded_blocks * 8; }
};

}  // namespace baimo::quant
