// One entry point per direction for converting rows between f32 and every storage DType that
// inference uses: F32, F16, BF16 (elementwise, round to nearest even) and the ggml block formats
// Q8_0, Q4_0, Q4_K, Q6_K (see block_formats.h, kquant_formats.h) and baimo's 2:4 Q8_0_S24
// (sparse_2of4.h: quantizing needs a 2:4-sparse row). Used by quantize / convert.
// n must be a multiple of the type's block size; otherwise, or for a type without a codec (I32,
// I64, U8), baimo::Error names the type and n. dst receives dtype_bytes(t, n) bytes.
#pragma once
#include <cstddef>

#include "baimo/tensor/dtype.h"

namespace baimo::quant {

void quantize_row(DType t, const float* x, void* dst, size_t n);
void dequantize_row(DType t, const void* src, float* y, size_t n);

}  // namespace baimo::quant
