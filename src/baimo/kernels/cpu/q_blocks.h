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

}  // namespace baimo::cpu
