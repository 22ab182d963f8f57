// ActQ8: activation rows quantized on the fly for the integer dot products of quantized matmuls
// (the role ggml's block_q8_0 / q8_1 play for activations).
// Per row of `cols` f32 (cols a multiple of 32), per block of 32: int8 quants q = roundf(x / d) with
// d = amax / 127 kept in f32 (not rounded to f16, unlike the weight format), and the block sum of
// the quants, which the kernels use to undo their unsigned-offset tricks. Rows are padded to an
// even number of blocks with zero quants, zero scale and zero sum, so kernels may process blocks in
// pairs. Quantization is deterministic and independent of the ISA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace baimo::quant {

struct ActQ8 {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t blocks = 0;         // cols / 32
  int64_t padded_blocks = 0;  // blocks rounded up to even: the row stride in blocks
  std::vector<int8_t> qs;     // (rows, padded_blocks * 32)
  std::vector<float> d;       // (rows, padded_blocks)
  std::vector<int32_t> sum;   // (rows, padded_blocks)

  // x: (rows, cols) f32, row-major. Reuses the vectors' capacity (no allocation once warm).
  void quantize(const float* x, int64_t rows, int64_t cols);

  const int8_t* row_qs(int64_t r) const { return qs.data() + r * padded_blocks * 32; }
  const float* row_d(int64_t r) const { return d.data() + r * padded_blocks; }
  const int32_t* row_sum(int64_t r) const { return sum.data() + r * padded_blocks; }
};

}  // namespace baimo::quant
