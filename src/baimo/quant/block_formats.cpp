#include "baimo/quant/block_formats.h"

#include <cmath>
#include <cstring>

#include "baimo/kernels/half_float.h"

namespace baimo::quant {

// Blocks are read and written through memcpy: a row inside a GGUF file has no alignment promise.

namespace {
// Forces a product to be rounded to f32 before it is used: the build's default -ffp-contract=fast
// would otherwise fuse x*id + 8.5f into one FMA, which truncates differently from ggml's reference
// (product rounded, then added) in rare cases.
inline float rounded(float v) {
  __asm__("" : "+x"(v));
  return v;
}
}  // namespace

void quantize_row_q8_0(const float* x, void* dst, size_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t b = 0; b < n / kBlockElems; ++b, x += kBlockElems, out += sizeof(BlockQ8_0)) {
    float amax = 0.0f;
    for (int j = 0; j < kBlockElems; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;  // ggml's MAX(amax, |x|)
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 blk;
    blk.d = f32_to_f16_bits(d);
    for (int j = 0; j < kBlockElems; ++j) blk.qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
    std::memcpy(out, &blk, sizeof blk);
  }
}

void quantize_row_q4_0(const float* x, void* dst, size_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t b = 0; b < n / kBlockElems; ++b, x += kBlockElems, out += sizeof(BlockQ4_0)) {
    // The first element reaching the largest magnitude wins (strict >), as in ggml.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kBlockElems; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 blk;
    blk.d = f32_to_f16_bits(d);
    for (int j = 0; j < kBlockElems / 2; ++j) {
      // (int8) truncates toward zero; x*id + 8.5 lies in [0.5, 16.5] by construction of d.
      int q0 = static_cast<int8_t>(rounded(x[j] * id) + 8.5f);
      int q1 = static_cast<int8_t>(rounded(x[j + 16] * id) + 8.5f);
      q0 = q0 < 15 ? q0 : 15;
      q1 = q1 < 15 ? q1 : 15;
      blk.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    std::memcpy(out, &blk, sizeof blk);
  }
}

void dequantize_row_q8_0(const void* src, float* y, size_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kBlockElems; ++b, in += sizeof(BlockQ8_0), y += kBlockElems) {
    BlockQ8_0 blk;
    std::memcpy(&blk, in, sizeof blk);
    const float d = f16_bits_to_f32(blk.d);
    for (int j = 0; j < kBlockElems; ++j) y[j] = blk.qs[j] * d;
  }
}

void dequantize_row_q4_0(const void* src, float* y, size_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kBlockElems; ++b, in += sizeof(BlockQ4_0), y += kBlockElems) {
    BlockQ4_0 blk;
    std::memcpy(&blk, in, sizeof blk);
    const float d = f16_bits_to_f32(blk.d);
    for (int j = 0; j < kBlockElems / 2; ++j) {
      y[j] = ((blk.qs[j] & 0x0F) - 8) * d;
      y[j + 16] = ((blk.qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace baimo::quant
