// Portable reference kernels (and the dispatch table) of qdot_kernels.h.
#include <cstring>

#include "baimo/kernels/cpu/q_blocks.h"
#include "baimo/kernels/half_float.h"
#include "baimo/kernels/cpu/qdot_kernels.h"

namespace baimo::cpu {

namespace kern {

void q8_0_rows_scalar(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0,
                      int nb, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    for (int b = 0; b < nb; ++b) {
      const int8_t* xq = x.row_qs(b0 + b);
      const float* xd = x.row_d(b0 + b);
      float acc = 0.0f;
      for (int64_t k = 0; k < x.blocks; ++k) {
        BlockQ8_0 blk;
        std::memcpy(&blk, w + r * row_bytes + k * sizeof(BlockQ8_0), sizeof blk);
        int32_t dot = 0;
        for (int j = 0; j < 32; ++j) dot += blk.qs[j] * xq[k * 32 + j];
        acc += static_cast<float>(dot) * (f16_bits_to_f32(blk.d) * xd[k]);
      }
      y[(b0 + b) * ldy + r] = acc;
    }
  }
}

void q4_0_rows_scalar(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x, int64_t b0,
                      int nb, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    for (int b = 0; b < nb; ++b) {
      const int8_t* xq = x.row_qs(b0 + b);
      const float* xd = x.row_d(b0 + b);
      float acc = 0.0f;
      for (int64_t k = 0; k < x.blocks; ++k) {
        BlockQ4_0 blk;
        std::memcpy(&blk, w + r * row_bytes + k * sizeof(BlockQ4_0), sizeof blk);
        int32_t dot = 0;
        for (int j = 0; j < 16; ++j) {
          dot += ((blk.qs[j] & 0x0F) - 8) * xq[k * 32 + j];
          dot += ((blk.qs[j] >> 4) - 8) * xq[k * 32 + j + 16];
        }
        acc += static_cast<float>(dot) * (f16_bits_to_f32(blk.d) * xd[k]);
      }
      y[(b0 + b) * ldy + r] = acc;
    }
  }
}

}  // namespace kern

ActLayout act_layout_for(bool q4, CpuIsa isa) {
  if (isa < CpuIsa::Avx512Bw) return ActLayout::Plain;
  return q4 ? ActLayout::PairsQ4 : ActLayout::PairsQ8;
}

QRowsKernel q8_0_rows_kernel(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512Vnni: return kern::q8_0_rows_avx512vnni;
    case CpuIsa::Avx512Bw: return kern::q8_0_rows_avx512bw;
    case CpuIsa::Avx2: return kern::q8_0_rows_avx2;
    case CpuIsa::Scalar: break;
  }
  return kern::q8_0_rows_scalar;
}

QRowsKernel q4_0_rows_kernel(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512Vnni: return kern::q4_0_rows_avx512vnni;
    case CpuIsa::Avx512Bw: return kern::q4_0_rows_avx512bw;
    case CpuIsa::Avx2: return kern::q4_0_rows_avx2;
    case CpuIsa::Scalar: break;
  }
  return kern::q4_0_rows_scalar;
}

}  // namespace baimo::cpu
