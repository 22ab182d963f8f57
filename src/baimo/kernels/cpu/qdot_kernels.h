// Internal: row-range kernels of the quantized matmul, one set per ISA level.
// A kernel computes, for weight rows r in [r0, r1) and activation rows b in [b0, b0 + nb), nb <= 8:
//   y[b * ldy + r] = sum over blocks k of  f16(w_k.d) * x.d[k] * dot_int(w_k, x_k)
// where dot_int is the exact integer dot product of the 32 weight quants (Q8_0: int8; Q4_0:
// nibble - 8) with the 32 activation quants. Every ISA computes dot_int exactly; only the f32
// accumulation order of the scaled block results differs.
// w: rows of blocks, row r starting at w + r * row_bytes (no alignment needed).
// b0 must be a multiple of kMaxKernelRows and nb = min(kMaxKernelRows, x.rows - b0): the AVX-512
// kernels read whole activation tiles (ActQ8::kTileRows).
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/kernels/cpu/act_quant.h"
#include "baimo/kernels/cpu/cpu_features.h"

namespace baimo::cpu {

using QRowsKernel = void (*)(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const ActQ8& x,
                             int64_t b0, int nb, float* y, int64_t ldy);

constexpr int kMaxKernelRows = 8;  // activation rows per kernel call (== ActQ8::kTileRows)

QRowsKernel q8_0_rows_kernel(CpuIsa isa);
QRowsKernel q4_0_rows_kernel(CpuIsa isa);
// The activation layout the kernel for (weight type, isa) reads; quantize ActQ8 with it.
ActLayout act_layout_for(bool q4, CpuIsa isa);

namespace kern {
void q8_0_rows_scalar(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q4_0_rows_scalar(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q8_0_rows_avx2(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q4_0_rows_avx2(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q8_0_rows_avx512bw(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q4_0_rows_avx512bw(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q8_0_rows_avx512vnni(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
void q4_0_rows_avx512vnni(const uint8_t*, size_t, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t);
}  // namespace kern

}  // namespace baimo::cpu
