// ActQ8: activation rows quantized on the fly for the integer dot products of quantized matmuls
// (the role ggml's block_q8_0 / q8_1 play for activations).
// Per row of `cols` f32 (cols a multiple of 32), per block of 32: int8 quants q = roundf(x / d) with
// d = amax / 127 kept in f32 (not rounded to f16, unlike the weight format), and the block sum of
// the quants, which the kernels use to undo their unsigned-offset tricks. Rows are padded to an
// even number of blocks with zero quants, zero scale and zero sum, so kernels may process blocks in
// pairs. Quantization is deterministic and independent of the ISA and of the layout.
// Layouts (what the kernel that consumes it expects); qs, d and sum are always filled row-major:
//   Plain   : nothing more. (scalar, AVX2)
//   PairsQ8 : per pair of blocks, 64 quants in element order and PairMeta {-16 s0, -16 s1, d0, d1}
//             (the kernel broadcasts them to lanes 0-7 / 8-15). (AVX-512, Q8_0)
//   PairsQ4 : per pair, quants ordered [b0 0..15, b1 0..15, b0 16..31, b1 16..31] (the cheapest
//             unpacking of two Q4_0 blocks' nibbles) and PairMeta {-s0, -s1, d0, d1} (lanes in
//             groups of 4 alternating blocks). (AVX-512, Q4_0)
//   Pair data is tile-interleaved: rows go in tiles of kTileRows, and within a tile of n rows the
//   entry for (pair p, row b) is number p * n + b, so a kernel walking the pairs of all rows of a
//   tile reads one contiguous stream with constant offsets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace baimo::cpu {

enum class ActLayout { Plain, PairsQ8, PairsQ4 };

// Per pair of blocks: the correction each block's int32 lanes start from (-16 sum for Q8_0's
// w + 128, -sum for Q4_0's nibble - 8; spread over the 8 lanes of a block) and the two scales.
struct PairMeta {
  int32_t corr[2];
  float d[2];
};
static_assert(sizeof(PairMeta) == 16);

// Reference quantizer of one block (32 values): *d = amax / 127, q = roundf(x * (1 / *d)) (half
// away from zero), *sum = sum of q. ActQ8::quantize gives bit-identical results with AVX2.
void quantize_act_block_ref(const float* x, int8_t* q, float* d, int32_t* sum);

struct ActQ8 {
  static constexpr int64_t kTileRows = 8;  // == kMaxKernelRows of the kernels

  ActLayout layout = ActLayout::Plain;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t blocks = 0;         // cols / 32
  int64_t padded_blocks = 0;  // blocks rounded up to even: the row stride in blocks
  std::vector<int8_t> qs;     // (rows, padded_blocks * 32)
  std::vector<float> d;       // (rows, padded_blocks)
  std::vector<int32_t> sum;   // (rows, padded_blocks)
  std::vector<int8_t> pair_qs;       // Pairs*: (rows * padded_blocks / 2) entries of 64, tiled
  std::vector<PairMeta> pair_meta;   // Pairs*: (rows * padded_blocks / 2) entries, tiled

  // x: (rows, cols) f32, row-major. Reuses the vectors' capacity (no allocation once warm).
  void quantize(const float* x, int64_t rows, int64_t cols, ActLayout layout = ActLayout::Plain);

  const int8_t* row_qs(int64_t r) const { return qs.data() + r * padded_blocks * 32; }
  const float* row_d(int64_t r) const { return d.data() + r * padded_blocks; }
  const int32_t* row_sum(int64_t r) const { return sum.data() + r * padded_blocks; }
  // Pair data of the tile starting at row b0 (a multiple of kTileRows); it holds tile_rows(b0) rows.
  int64_t tile_rows(int64_t b0) const { return rows - b0 < kTileRows ? rows - b0 : kTileRows; }
  const int8_t* tile_pair_qs(int64_t b0) const { return pair_qs.data() + b0 * padded_blocks * 32; }
  const PairMeta* tile_pair_meta(int64_t b0) const { return pair_meta.data() + b0 * padded_blocks / 2; }
  // Index of the entry (row r, pair p) in the pair arrays (in entries: 64 quants or one PairMeta).
  int64_t pair_entry(int64_t r, int64_t p) const {
    const int64_t b0 = r / kTileRows * kTileRows;
    return b0 * (padded_blocks / 2) + p * tile_rows(b0) + (r - b0);
  }
};

}  // namespace baimo::cpu
