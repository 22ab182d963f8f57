// ggml-compatible K-quant super-block formats Q4_K and Q6_K (256 elements per super-block; the
// byte layout of ggml's block_q4_K / block_q6_K) with quantize / dequantize of rows:
//   Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes packing eight 6-bit sub-block scales and mins,
//        128 bytes of nibbles. Sub-block j (32 elements) dequantizes as d*sc_j*q - dmin*m_j.
//        Nibbles: for each 64-element chunk, byte l holds element l (low) and element l+32 (high).
//   Q6_K (210 bytes): 128 bytes low nibbles, 64 bytes high 2-bit pairs, sixteen int8 sub-block
//        scales, f16 d. Sub-block j (16 elements) dequantizes as d*sc_j*(q - 32).
// The quantizers follow ggml's reference algorithms (quantize_row_q4_K_ref: weighted min/scale
// search per sub-block; quantize_row_q6_K_ref: rms-weighted scale search), evaluated with every
// f32 operation rounded separately (no FMA contraction), i.e. the C source's own semantics. ggml's
// output for these types itself varies with its compiler's contraction settings, so only that
// unfused build is reproduced bit for bit. n must be a multiple of 256.
#pragma once
#include <cstddef>
#include <cstdint>

namespace baimo::quant {

constexpr int kSuperBlockElems = 256;  // QK_K

struct BlockQ4_K {
  uint16_t d;           // f16 scale of the sub-block scales
  uint16_t dmin;        // f16 scale of the sub-block mins
  uint8_t scales[12];   // 6-bit scales and mins, packed
  uint8_t qs[128];      // 4-bit quants
};
struct BlockQ6_K {
  uint8_t ql[128];      // low 4 bits
  uint8_t qh[64];       // high 2 bits
  int8_t scales[16];    // 8-bit sub-block scales
  uint16_t d;           // f16 super-block scale
};
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

void quantize_row_q4_K(const float* x, void* dst, size_t n);
void quantize_row_q6_K(const float* x, void* dst, size_t n);
void dequantize_row_q4_K(const void* src, float* y, size_t n);
void dequantize_row_q6_K(const void* src, float* y, size_t n);

}  // namespace baimo::quant
