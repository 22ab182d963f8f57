// WeightMatrix: a weight matrix in any inference storage format, as the inference ops of the
// Backend (kernels/backend.h) take it. Non-owning.
//   rows = out features, cols = in features, row-major, in F32, F16, BF16 (elements) or Q8_0 / Q4_0
//   (each row is cols/32 ggml blocks exactly as in a GGUF file, kernels/cpu/q_blocks.h; cols % 32 == 0).
//   packed: optionally the same Q8_0 / Q4_0 weights in a backend's load-time layout (the CPU's
//   16-row interleave, kernels/cpu/weight_pack.h), owned elsewhere (e.g. ModelWeights::storage);
//   when set, the kernels read it instead of data. A frozen training base may hold a Q8_0 / Q4_0
//   matrix as the packed copy alone (data == nullptr): weight_matmul, weight_matmul_f32 / _t and
//   weight_rows accept that; code that reads rows directly must check data.
#pragma once
#include <cstddef>
#include <cstdint>

#include "baimo/tensor/dtype.h"

namespace baimo {

struct WeightMatrix {
  DType type = DType::F32;
  const void* data = nullptr;  // rows * row_bytes() bytes
  int64_t rows = 0;
  int64_t cols = 0;
  const void* packed = nullptr;
  bool defined() const { return data != nullptr || packed != nullptr; }  // rows, or a packed copy only
  size_t row_bytes() const { return dtype_bytes(type, static_cast<size_t>(cols)); }
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows); }
};

}  // namespace baimo
