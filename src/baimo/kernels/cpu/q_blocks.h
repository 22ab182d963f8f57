// The ggml block layouts Q8_0 and Q4_0 that the quantized kernels read (byte-for-byte ggml's
// block_q8_0 / block_q4_0, so rows are copied into and out of GGUF files unchanged):
//   Q8_0: 32 elements -> f16 d, 32 int8 q; x ~= d*q.
//   Q4_0: 32 elements -> f16 d, 16 bytes: byte j holds q[j] in its low nibble and q[j+16] in its
//         high nibble; x ~= d*(q-8).
// The quantizers and dequantizers of these formats are quant/block_formats.h's.
#pragma once
#include <cstdint>

namespace baimo::cpu {

constexpr int kBlockElems = 32;  // QK8_0 == QK4_0

struct BlockQ8_0 {
  uint16_t d;      // f16 scale
  int8_t qs[32];   // quants
};
struct BlockQ4_0 {
  uint16_t d;      // f16 scale
  uint8_t qs[16];  // nibbles: low = element j, high = element j+16
};
static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 2);
static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 2);
// Q8_0_S24 (baimo's compact 2:4 form, quant/sparse_2of4.h): the 16 kept quants of a 2:4-sparse
// Q8_0 block and their positions: kept value j lies in group j/2 (inputs 4(j/2) .. 4(j/2)+3) at
// position (idx[j/4] >> 2(j%4)) & 3; a group's two positions are in increasing order.
struct BlockQ8_0S24 {
  uint16_t d;      // f16 scale (Q8_0's of the same 32 inputs)
  uint8_t idx[4];  // 2-bit positions of the 16 kept values
  int8_t qs[16];   // kept quants, in input order
};
static_assert(sizeof(BlockQ8_0S24) == 22 && alignof(BlockQ8_0S24) == 2);

// The Q8_0 block a Q8_0_S24 block stands for (zeros at the positions not kept).
inline BlockQ8_0 expand_block(const BlockQ8_0S24& s) {
  BlockQ8_0 dense{};
  dense.d = s.d;
  for (int j = 0; j < 16; ++j) dense.qs[4 * (j / 2) + ((s.idx[j / 4] >> (2 * (j % 4))) & 3)] = s.qs[j];
  return dense;
}

}  // namespace baimo::cpu
