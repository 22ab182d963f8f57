// DType: element types of tensors on disk and in memory.
// F32 is the compute and master-weight type; F16/BF16 are storage types; Q8_0/Q4_0/Q4_K/Q6_K are
// ggml-compatible block formats (a "row" of n elements takes n / block_elems * block_bytes bytes).
// Q8_0_S24 is baimo's own compact form of a 2:4-sparse Q8_0 row (quant/sparse_2of4.h): 2 values of
// every 4 inputs kept, with 2-bit positions; no other engine reads it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace baimo {

enum class DType : uint8_t { F32, F16, BF16, I32, I64, U8, Q8_0, Q4_0, Q4_K, Q6_K, Q8_0_S24 };

struct DTypeInfo {
  std::string_view name;  // safetensors spelling for plain types ("F32", "BF16", ...)
  int block_elems;        // elements per block (1 for plain types)
  int block_bytes;        // bytes per block
};

constexpr DTypeInfo dtype_info(DType t) {
  switch (t) {
    case DType::F32: return {"F32", 1, 4};
    case DType::F16: return {"F16", 1, 2};
    case DType::BF16: return {"BF16", 1, 2};
    case DType::I32: return {"I32", 1, 4};
    case DType::I64: return {"I64", 1, 8};
    case DType::U8: return {"U8", 1, 1};
    case DType::Q8_0: return {"Q8_0", 32, 34};
    case DType::Q4_0: return {"Q4_0", 32, 18};
    case DType::Q4_K: return {"Q4_K", 256, 144};
    case DType::Q6_K: return {"Q6_K", 256, 210};
    case DType::Q8_0_S24: return {"Q8_0_S24", 32, 22};
  }
  return {"?", 1, 1};
}

// Bytes for n elements; n must be a multiple of the block size for block types.
constexpr size_t dtype_bytes(DType t, size_t n) {
  auto i = dtype_info(t);
  return n / i.block_elems * i.block_bytes;
}

}  // namespace baimo
