#include "baimo/quant/row_convert.h"

#include <cstring>

#include "baimo/quant/block_formats.h"
#include "baimo/kernels/half_float.h"
#include "baimo/quant/kquant_formats.h"
#include "baimo/quant/sparse_2of4.h"
#include "baimo/util/error.h"

namespace baimo::quant {

static void check(DType t, size_t n, const char* what) {
  const auto info = dtype_info(t);
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
    case DType::Q4_K: case DType::Q6_K: case DType::Q8_0_S24: break;
    default: fail("{}: no f32 conversion for type {}", what, info.name);
  }
  if (n % static_cast<size_t>(info.block_elems) != 0)
    fail("{}: {} elements is not a multiple of the {} block size {}", what, n, info.name, info.block_elems);
}

void quantize_row(DType t, const float* x, void* dst, size_t n) {
  check(t, n, "quantize_row");
  switch (t) {
    case DType::F32: std::memcpy(dst, x, n * sizeof(float)); return;
    case DType::F16: return f32_to_f16_row(x, static_cast<uint16_t*>(dst), n);
    case DType::BF16: return f32_to_bf16_row(x, static_cast<uint16_t*>(dst), n);
    case DType::Q8_0: return quantize_row_q8_0(x, dst, n);
    case DType::Q4_0: return quantize_row_q4_0(x, dst, n);
    case DType::Q4_K: return quantize_row_q4_K(x, dst, n);
    case DType::Q6_K: return quantize_row_q6_K(x, dst, n);
    case DType::Q8_0_S24: return quantize_row_q8_0_s24(x, dst, n);
    default: return;
  }
}

void dequantize_row(DType t, const void* src, float* y, size_t n) {
  check(t, n, "dequantize_row");
  switch (t) {
    case DType::F32: std::memcpy(y, src, n * sizeof(float)); return;
    case DType::F16: return f16_to_f32_row(static_cast<const uint16_t*>(src), y, n);
    case DType::BF16: return bf16_to_f32_row(static_cast<const uint16_t*>(src), y, n);
    case DType::Q8_0: return dequantize_row_q8_0(src, y, n);
    case DType::Q4_0: return dequantize_row_q4_0(src, y, n);
    case DType::Q4_K: return dequantize_row_q4_K(src, y, n);
    case DType::Q6_K: return dequantize_row_q6_K(src, y, n);
    case DType::Q8_0_S24: return dequantize_row_q8_0_s24(src, y, n);
    default: return;
  }
}

}  // namespace baimo::quant
