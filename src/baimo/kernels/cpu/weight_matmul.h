// The CPU backend's weight product (Backend::weight_matmul, kernels/backend.h; code outside kernels/
// calls it through backend()): y = x W^T for a weight matrix stored in any inference format.
//   W: (rows = out features, cols = in features), row-major, in F32, F16, BF16 (elements) or
//      Q8_0 / Q4_0 (each row is cols/32 ggml blocks, exactly as in a GGUF file; cols % 32 == 0).
//   x: (batch, cols) f32 row-major;  y: (batch, rows) f32 row-major.
// Quantized weights: x is quantized on the fly to int8 blocks (ActQ8) and each block product is an
// exact integer dot, scaled by f16(w.d) * x.d. Float weights are converted in registers.
// Packed weights (w.packed, see weight_pack.h) go through 16-row interleaved kernels (same exact
// integer block dots); Q8_0_S24 (2:4 compact) matrices run packed only. Parallel over output rows with OpenMP; activation rows go through the kernels 8 at a time while a
// chunk of weight rows stays in cache (decode batch 1..8 and prefill alike). Runtime ISA dispatch;
// pass an explicit isa (<= best_isa()) to pin a level. No allocation once warm (per thread).
#pragma once
#include <cstdint>
#include <span>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo::cpu {

// Throws baimo::Error for an unsupported type or cols not a multiple of the block size.
void weight_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y, CpuIsa isa = best_isa());

// ys[i] = x ws[i]^T for several matrices that read the same input (q/k/v; gate/up): the same
// results as one weight_matmul per matrix. When all are packed with the same type and columns,
// x is quantized once and every matrix's rows go through one parallel region (decode pays the
// thread wake-up and the activation quantization once instead of per matrix); otherwise it runs
// weight_matmul on each in turn.
void weight_matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch,
                         std::span<float* const> ys, CpuIsa isa = best_isa());

}  // namespace baimo::cpu
