// Portable float-weight kernels and the dispatch table of float_kernels.h.
#include <cstring>

#include "baimo/kernels/cpu/float_kernels.h"
#include "baimo/kernels/half_float.h"

namespace baimo::cpu {

namespace kern {

template <DType T>
static inline float load_weight(const uint8_t* p, int64_t k) {
  if constexpr (T == DType::F32) {
    float v;
    std::memcpy(&v, p + 4 * k, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, p + 2 * k, 2);
    return T == DType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
  }
}

template <DType T>
void float_rows_scalar(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x, int64_t cols,
                       int64_t b0, int nb, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * row_bytes;
    for (int b = 0; b < nb; ++b) {
      const float* xb = x + (b0 + b) * cols;
      float acc = 0.0f;
      for (int64_t k = 0; k < cols; ++k) acc += load_weight<T>(row, k) * xb[k];
      y[(b0 + b) * ldy + r] = acc;
    }
  }
}

template void float_rows_scalar<DType::F32>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_scalar<DType::F16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                            int, float*, int64_t);
template void float_rows_scalar<DType::BF16>(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t,
                                             int64_t, int, float*, int64_t);

}  // namespace kern

template <DType T>
static FloatRowsKernel pick(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bw) return kern::float_rows_avx512<T>;
  if (isa >= CpuIsa::Avx2) return kern::float_rows_avx2<T>;
  return kern::float_rows_scalar<T>;
}

FloatRowsKernel float_rows_kernel(DType type, CpuIsa isa) {
  switch (type) {
    case DType::F32: return pick<DType::F32>(isa);
    case DType::F16: return pick<DType::F16>(isa);
    case DType::BF16: return pick<DType::BF16>(isa);
    default: return nullptr;
  }
}

}  // namespace baimo::cpu
