// Portable reference kernels for packed weights (weight_pack.h) and the dispatch table.
#include <cstring>

#include "baimo/kernels/half_float.h"
#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"

namespace baimo::cpu {

namespace kern {

namespace {

// The integer dot of row r of one packed entry e (a block of 16 rows) with the block's activation
// quants xq (32).
template <DType kType>
int32_t entry_dot(const uint8_t* e, int64_t r, const int8_t* xq) {
  int32_t dot = 0;
  if constexpr (kType == DType::Q4_0) {
    for (int j = 0; j < 16; ++j) {
      const uint8_t q = e[32 + (j / 4) * 64 + 4 * r + j % 4];
      dot += ((q & 0x0F) - 8) * xq[j];
      dot += ((q >> 4) - 8) * xq[j + 16];
    }
  } else if constexpr (kType == DType::Q8_0) {
    for (int j = 0; j < 32; ++j) dot += static_cast<int8_t>(e[32 + (j / 4) * 64 + 4 * r + j % 4]) * xq[j];
  } else {  // Q8_0_S24: kept value j lies in group j / 2 at the position in 2 bits of the row's idx word
    uint32_t idx;
    std::memcpy(&idx, e + 32 + 4 * r, 4);
    for (int j = 0; j < 16; ++j)
      dot += static_cast<int8_t>(e[96 + (j / 4) * 64 + 4 * r + j % 4]) * xq[4 * (j / 2) + ((idx >> (2 * j)) & 3)];
  }
  return dot;
}

template <DType kType>
void packed_scalar(const uint8_t* packed, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                   int64_t ldy, int64_t rows) {
  const size_t entry = packed_entry_bytes(kType);
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* base = packed + static_cast<size_t>(g * x.blocks) * entry;
    for (int64_t r = 0; r < kPackRows && g * kPackRows + r < rows; ++r) {
      for (int b = 0; b < nb; ++b) {
        const int8_t* xq = x.row_qs(b0 + b);
        const float* xd = x.row_d(b0 + b);
        float acc = 0.0f;
        for (int64_t k = 0; k < x.blocks; ++k) {
          const uint8_t* e = base + k * entry;
          uint16_t d;
          std::memcpy(&d, e + 2 * r, 2);
          acc += static_cast<float>(entry_dot<kType>(e, r, xq + k * 32)) * (f16_bits_to_f32(d) * xd[k]);
        }
        y[(b0 + b) * ldy + g * kPackRows + r] = acc;
      }
    }
  }
}

}  // namespace

void packed_q8_0_s24_scalar(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                            int64_t ldy, int64_t rows) {
  packed_scalar<DType::Q8_0_S24>(p, g0, g1, x, b0, nb, y, ldy, rows);
}
void packed_q8_0_scalar(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                        int64_t ldy, int64_t rows) {
  packed_scalar<DType::Q8_0>(p, g0, g1, x, b0, nb, y, ldy, rows);
}
void packed_q4_0_scalar(const uint8_t* p, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb, float* y,
                        int64_t ldy, int64_t rows) {
  packed_scalar<DType::Q4_0>(p, g0, g1, x, b0, nb, y, ldy, rows);
}

}  // namespace kern

PackedKernel packed_q8_0_kernel(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Vnni) return kern::packed_q8_0_avx512vnni;
  if (isa >= CpuIsa::Avx2) return kern::packed_q8_0_avx2;
  return kern::packed_q8_0_scalar;
}
PackedKernel packed_q4_0_kernel(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Vnni) return kern::packed_q4_0_avx512vnni;
  if (isa >= CpuIsa::Avx2) return kern::packed_q4_0_avx2;
  return kern::packed_q4_0_scalar;
}
PackedKernel packed_q8_0_s24_kernel(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Vnni && cpu_has_avx512_vbmi()) return kern::packed_q8_0_s24_avx512vbmi;
  return kern::packed_q8_0_s24_scalar;
}
PackedKernel packed_kernel(DType t, CpuIsa isa) {
  switch (t) {
    case DType::Q8_0: return packed_q8_0_kernel(isa);
    case DType::Q4_0: return packed_q4_0_kernel(isa);
    case DType::Q8_0_S24: return packed_q8_0_s24_kernel(isa);
    default: return nullptr;
  }
}

}  // namespace baimo::cpu
