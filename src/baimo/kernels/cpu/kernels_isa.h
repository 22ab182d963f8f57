// Per-ISA kernel entry points (internal to the cpu backend): the same functions compiled for the
// AVX2 baseline (namespace avx2) and for AVX-512 (namespace avx512) from kernels_impl.inc and
// attention_impl.inc. Arguments mean what the matching Backend methods say (kernels/backend.h).
#pragma once
#include <cstdint>

#include "baimo/kernels/backend.h"

#define BAIMO_CPU_KERNEL_DECLS                                                                                       \
  void rmsnorm_fwd(const float* x, const float* w, int64_t rows, int64_t C, float eps, float* y, float* rstd);     \
  void rmsnorm_bwd(const float* dy, const float* x, const float* w, const float* rstd, int64_t rows, int64_t C,     \
                   float* dx, bool accumulate_x, float* dw, bool accumulate_w);                                     \
  void rope(const float* x, const int32_t* pos, const float* cos_sin, int64_t B, int64_t T, int64_t H, int64_t D,    \
            bool inverse, float* y, bool accumulate);                                                               \
  void attention_fwd(const float* q, const float* k, const float* v, const int32_t* segments, int64_t B, int64_t T, \
                     int64_t Hq, int64_t Hkv, int64_t D, float* out, float* lse);                                   \
  void attention_bwd(const float* dout, const float* q, const float* k, const float* v, const float* out,           \
                     const float* lse, const int32_t* segments, int64_t B, int64_t T, int64_t Hq, int64_t Hkv,      \
                     int64_t D, float* dq, float* dk, float* dv, bool accumulate_q, bool accumulate_k,              \
                     bool accumulate_v);                                                                            \
  void swiglu_fwd(const float* gate, const float* up, int64_t n, float* out);                                       \
  void swiglu_bwd(const float* dout, const float* gate, const float* up, int64_t n, float* dgate, float* dup,       \
                  bool accumulate_gate, bool accumulate_up);                                                        \
  void logsoftmax_rows(const float* logits, const int32_t* targets, int64_t N, int64_t V, int32_t ignore_index,     \
                       float* lse, float* picked);                                                                  \
  void logsoftmax_pick_bwd(const float* logits, const int32_t* targets, const float* lse, const float* coef,        \
                           int64_t N, int64_t V, int32_t ignore_index, float* dlogits, bool accumulate);            \
  void logsoftmax_tile_bwd(float* x, const int32_t* targets, const float* lse, const float* coef, int64_t N,        \
                           int64_t n, int64_t col0, int32_t ignore_index);                                          \
  void unary(UnaryOp op, const UnaryArgs& args, const float* x, int64_t n, float* y);                              \
  void unary_bwd(UnaryOp op, const UnaryArgs& args, const float* x, const float* y, const float* dy, int64_t n,     \
                 float* dx, bool accumulate);                                                                       \
  void binary(BinaryOp op, const float* a, const float* b, int64_t n, float* y);                                   \
  void binary_bwd(BinaryOp op, const float* a, const float* b, const float* dy, int64_t n, float* da,              \
                  bool accumulate_a, float* db, bool accumulate_b);                                                 \
  void axpy(float alpha, const float* src, int64_t n, float* dst, bool accumulate);                                \
  void sum_rows(const float* dy, int64_t M, int64_t N, float* db, bool accumulate);

namespace baimo::cpu::avx2 {
BAIMO_CPU_KERNEL_DECLS
}
namespace baimo::cpu::avx512 {
BAIMO_CPU_KERNEL_DECLS
}
