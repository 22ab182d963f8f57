// KvView: the cached keys and values of one layer, as the Backend's attention ops read them
// (model/kv_cache.h hands one out per layer). Non-owning.
//   slot s: keys + s * slot_stride is a (positions, kv_dim) row-major block, row p = position p,
//   kv_dim = n_kv_heads * head_dim; the same for values.
#pragma once
#include <cstdint>

namespace baimo {

struct KvView {
  const float* keys = nullptr;
  const float* values = nullptr;
  int64_t slot_stride = 0;  // floats between the first rows of consecutive slots
  int64_t kv_dim = 0;       // floats per position (n_kv_heads * head_dim)
  const float* slot_keys(int32_t slot) const { return keys + static_cast<int64_t>(slot) * slot_stride; }
  const float* slot_values(int32_t slot) const { return values + static_cast<int64_t>(slot) * slot_stride; }
};

}  // namespace baimo
