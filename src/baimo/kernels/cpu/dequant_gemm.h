// Products with a weight matrix in any inference storage type (kernels/weight_matrix.h) computed in
// f32 with BLAS, tile by tile: a tile of W (at most kDequantRows x kDequantCols) is dequantized into a
// small per-thread f32 scratch and multiplied with one sgemm. There is never an f32 copy of W.
// These are the products of training through a frozen (quantized) base (autograd linear_frozen: the
// input gradient always, the forward for F32 / F16 / BF16 weights; Q8_0 / Q4_0 forward with the int8
// kernels of weight_matmul.h). The dequantization is scalar code the compiler vectorizes: it is
// 1/batch of the sgemm work.
//   dequant_matmul_t: dx (batch, w.cols) (+)= dy (batch, w.rows) W          (the input gradient)
//   dequant_matmul:   y (batch, w.rows)   =   x (batch, w.cols) W^T        (exact in the weights:
//                     the same numbers as sgemm on the dequantized matrix, up to summation order)
// W is read from w.data in ggml row layout, or, when data is null, from w.packed (Q8_0 / Q4_0 in the
// 16-row layout of weight_pack.h: a frozen base may keep only that copy). Work is split into (batch rows x
// output columns) tasks across OpenMP threads; each task writes its own part of the output, so the
// result does not depend on the thread count's schedule. baimo::Error for a type without a
// dequantizer here (F32, F16, BF16, Q8_0, Q4_0 are supported), cols not a multiple of the block
// size, or null data.
#pragma once
#include <cstdint>

#include "baimo/kernels/weight_matrix.h"

namespace baimo::cpu {

constexpr int64_t kDequantRows = 128;  // rows of W per tile
constexpr int64_t kDequantCols = 256;  // columns of W per tile (a multiple of 32)

// W[r0:r1, c0:c1] as f32 into dst (row stride ld). c0 (and c1 unless c1 == w.cols) must be
// multiples of the type's block size.
void dequantize_tile(const WeightMatrix& w, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* dst, int64_t ld);

// out (n, w.cols) = rows ids[0..n) of W as f32 (ids in [0, w.rows), checked by the caller).
void dequantize_rows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out);

void dequant_matmul_t(const WeightMatrix& w, const float* dy, int64_t batch, float* dx, bool accumulate);
void dequant_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y);

}  // namespace baimo::cpu
