// Internal helpers shared by the op implementations (not part of the public API).
#pragma once
#include <string_view>

#include "baimo/autograd/tape.h"
#include "baimo/autograd/var.h"
#include "baimo/kernels/backend.h"
#include "baimo/util/error.h"

namespace baimo::ag::detail {

inline Tensor alloc(const Shape& s, DType t = DType::F32) { return tape().arena().alloc(s, t); }

template <class... Vs>
bool should_record(const Vs&... vs) {
  return grad_enabled() && (false || ... || (vs.defined() && vs.requires_grad()));
}

inline void require_f32(std::string_view op, const Var& v, std::string_view what) {
  if (!v.defined()) fail("{}: {} is undefined", op, what);
  if (v.value().dtype() != DType::F32) fail("{}: {} must be F32", op, what);
}

inline void require_i32(std::string_view op, const Tensor& t, std::string_view what) {
  if (!t.defined()) fail("{}: {} is undefined", op, what);
  if (t.dtype() != DType::I32) fail("{}: {} must be I32, shape {}", op, what, t.shape().str());
}

// Rows when the last dim is treated as features: numel / size(-1).
inline int64_t rows_of(const Tensor& t) { return t.dim() == 0 ? 0 : t.numel() / t.size(-1); }

}  // namespace baimo::ag::detail
