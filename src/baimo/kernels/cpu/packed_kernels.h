// Internal: kernels of weight_matmul for weights in the packed layout of weight_pack.h.
// A kernel computes, for the row groups g in [g0, g1) (rows g*16 .. g*16+15, those < rows) and
// activation rows b in [b0, b0 + nb), nb <= kMaxKernelRows:
//   y[b * ldy + row] = sum over blocks k of f16(w.d) * x.d[k] * dot_int(w_k, x_k)
// with x quantized in ActLayout::Plain. dot_int is exact on every ISA (as in qdot_kernels.h).
// Q8_0_S24 (2:4 compact) gives Q8_0's integer dots and float steps exactly, so its products equal
// Q8_0's bit for bit on the same ISA path; its fast kernel needs AVX-512 VBMI as well as VNNI
// (cpu_has_avx512_vbmi), below that the scalar one runs.
#pragma once
#include <cstdint>

#include "baimo/kernels/cpu/act_quant.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/tensor/dtype.h"

namespace baimo::cpu {

using PackedKernel = void (*)(const uint8_t* packed, int64_t g0, int64_t g1, const ActQ8& x, int64_t b0, int nb,
                              float* y, int64_t ldy, int64_t rows);

PackedKernel packed_q8_0_kernel(CpuIsa isa);
PackedKernel packed_q4_0_kernel(CpuIsa isa);
PackedKernel packed_q8_0_s24_kernel(CpuIsa isa);
// The kernel for packed weights of type t (Q8_0, Q4_0, Q8_0_S24).
PackedKernel packed_kernel(DType t, CpuIsa isa);

namespace kern {
void packed_q8_0_scalar(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q4_0_scalar(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q8_0_avx2(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q4_0_avx2(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q8_0_avx512vnni(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q4_0_avx512vnni(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q8_0_s24_scalar(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t, int64_t);
void packed_q8_0_s24_avx512vbmi(const uint8_t*, int64_t, int64_t, const ActQ8&, int64_t, int, float*, int64_t,
                                int64_t);
}  // namespace kern

}  // namespace baimo::cpu
