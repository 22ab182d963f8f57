// Internal: row-range kernels for float weights (F32 / F16 / BF16) times f32 activations:
//   y[b * ldy + r] = sum_k float(W[r][k]) * x[b * cols + k]  for r in [r0, r1), b in [b0, b0 + nb), nb <= 8.
// w: row r at w + r * row_bytes. The weight element is converted exactly to f32 (F16 via F16C,
// BF16 by a shift); only the f32 summation order differs between ISA levels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/tensor/dtype.h"

namespace baimo::cpu {

using FloatRowsKernel = void (*)(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const float* x,
                                 int64_t cols, int64_t b0, int nb, float* y, int64_t ldy);

// type: F32, F16 or BF16.
FloatRowsKernel float_rows_kernel(DType type, CpuIsa isa);

namespace kern {
template <DType T>
void float_rows_scalar(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t, int, float*, int64_t);
template <DType T>
void float_rows_avx2(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t, int, float*, int64_t);
template <DType T>
void float_rows_avx512(const uint8_t*, size_t, int64_t, int64_t, const float*, int64_t, int64_t, int, float*, int64_t);
}  // namespace kern

}  // namespace baimo::cpu
