// CpuBackend: dispatch to the AVX-512 or AVX2 kernels, plus the pieces that are not
// vectorization-sensitive (BLAS calls, embedding gather/scatter, rotary tables, sums).
#include "baimo/kernels/cpu/cpu_backend.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/kernels/cpu/kernels_isa.h"
#include "baimo/kernels/rope_table.h"
#include "baimo/util/error.h"

namespace baimo::cpu {

#define BAIMO_DISPATCH(fn, ...) (has_avx512() ? avx512::fn(__VA_ARGS__) : avx2::fn(__VA_ARGS__))

namespace {

// Rotary tables (kernels/rope_table.h) per (theta, D), grown to cover the positions asked for.
struct RopeTables {
  std::mutex mu;
  std::map<std::pair<float, int64_t>, RopeTable> tables;

  const float* get(float theta, int64_t D, int32_t max_pos) {
    std::lock_guard<std::mutex> lock(mu);
    auto [it, added] = tables.try_emplace({theta, D});
    RopeTable& t = it->second;
    if (added) t = RopeTable(theta, D, 0);
    const int64_t have = t.positions();
    if (have <= max_pos) t.extend(std::max<int64_t>(max_pos + 1, std::max<int64_t>(2 * have, 256)));
    return t.cos_sin.data();
  }
};

RopeTables& rope_tables() {
  static RopeTables r;
  return r;
}

}  // namespace

void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS may skip beta scaling for K == 0 in some builds; do it explicitly
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

void CpuBackend::embedding_fwd(const float* W, const int32_t* ids, int64_t n, int64_t C, float* out) {
#pragma omp parallel for schedule(static) if (n * C > 65536)
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * C, W + static_cast<int64_t>(ids[i]) * C, C * sizeof(float));
}

void CpuBackend::embedding_bwd(const float* dout, const int32_t* ids, int64_t n, int64_t C, int64_t V, float* dW) {
  // Parallel over column chunks; every thread walks all tokens in order (deterministic).
#pragma omp parallel if (n * C > 65536)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t c0 = C * tid / nth, c1 = C * (tid + 1) / nth;
    for (int64_t i = 0; i < n; ++i) {
      float* dst = dW + static_cast<int64_t>(ids[i]) * C;
      const float* src = dout + i * C;
#pragma omp simd
      for (int64_t j = c0; j < c1; ++j) dst[j] += src[j];
    }
  }
}

void CpuBackend::rmsnorm_fwd(const float* x, const float* w, int64_t rows, int64_t C, float eps, float* y,
                             float* rstd) {
  BAIMO_DISPATCH(rmsnorm_fwd, x, w, rows, C, eps, y, rstd);
}

void CpuBackend::rmsnorm_bwd(const float* dy, const float* x, const float* w, const float* rstd, int64_t rows,
                             int64_t C, float* dx, bool accumulate_x, float* dw, bool accumulate_w) {
  BAIMO_DISPATCH(rmsnorm_bwd, dy, x, w, rstd, rows, C, dx, accumulate_x, dw, accumulate_w);
}

void CpuBackend::rope(const float* x, const int32_t* pos, int64_t B, int64_t T, int64_t H, int64_t D, float theta,
                      bool inverse, float* y, bool accumulate) {
  int32_t max_pos = 0;
  for (int64_t i = 0; i < B * T; ++i) {
    if (pos[i] < 0) fail("rope: negative position {} at index {}", pos[i], i);
    max_pos = std::max(max_pos, pos[i]);
  }
  const float* table = rope_tables().get(theta, D, max_pos);
  BAIMO_DISPATCH(rope, x, pos, table, B, T, H, D, inverse, y, accumulate);
}

void CpuBackend::attention_fwd(const float* q, const float* k, const float* v, const int32_t* segments, int64_t B,
                               int64_t T, int64_t Hq, int64_t Hkv, int64_t D, float* out, float* lse) {
  BAIMO_DISPATCH(attention_fwd, q, k, v, segments, B, T, Hq, Hkv, D, out, lse);
}

void CpuBackend::attention_bwd(const float* dout, const float* q, const float* k, const float* v, const float* out,
                               const float* lse, const int32_t* segments, int64_t B, int64_t T, int64_t Hq,
                               int64_t Hkv, int64_t D, float* dq, float* dk, float* dv, bool accumulate_q,
                               bool accumulate_k, bool accumulate_v) {
  BAIMO_DISPATCH(attention_bwd, dout, q, k, v, out, lse, segments, B, T, Hq, Hkv, D, dq, dk, dv, accumulate_q, accumulate_k,
                 accumulate_v);
}

void CpuBackend::swiglu_fwd(const float* gate, const float* up, int64_t n, float* out) {
  BAIMO_DISPATCH(swiglu_fwd, gate, up, n, out);
}

void CpuBackend::swiglu_bwd(const float* dout, const float* gate, const float* up, int64_t n, float* dgate, float* dup,
                            bool accumulate_gate, bool accumulate_up) {
  BAIMO_DISPATCH(swiglu_bwd, dout, gate, up, n, dgate, dup, accumulate_gate, accumulate_up);
}

void CpuBackend::logsoftmax_rows(const float* logits, const int32_t* targets, int64_t N, int64_t V,
                                 int32_t ignore_index, float* lse, float* picked) {
  BAIMO_DISPATCH(logsoftmax_rows, logits, targets, N, V, ignore_index, lse, picked);
}

void CpuBackend::logsoftmax_pick_bwd(const float* logits, const int32_t* targets, const float* lse, const float* coef,
                                     int64_t N, int64_t V, int32_t ignore_index, float* dlogits, bool accumulate) {
  BAIMO_DISPATCH(logsoftmax_pick_bwd, logits, targets, lse, coef, N, V, ignore_index, dlogits, accumulate);
}

void CpuBackend::logsoftmax_tile_bwd(float* x, const int32_t* targets, const float* lse, const float* coef, int64_t N,
                                     int64_t n, int64_t col0, int32_t ignore_index) {
  BAIMO_DISPATCH(logsoftmax_tile_bwd, x, targets, lse, coef, N, n, col0, ignore_index);
}

void CpuBackend::unary(UnaryOp op, const UnaryArgs& args, const float* x, int64_t n, float* y) {
  BAIMO_DISPATCH(unary, op, args, x, n, y);
}

void CpuBackend::unary_bwd(UnaryOp op, const UnaryArgs& args, const float* x, const float* y, const float* dy,
                           int64_t n, float* dx, bool accumulate) {
  BAIMO_DISPATCH(unary_bwd, op, args, x, y, dy, n, dx, accumulate);
}

void CpuBackend::binary(BinaryOp op, const float* a, const float* b, int64_t n, float* y) {
  BAIMO_DISPATCH(binary, op, a, b, n, y);
}

void CpuBackend::binary_bwd(BinaryOp op, const float* a, const float* b, const float* dy, int64_t n, float* da,
                            bool accumulate_a, float* db, bool accumulate_b) {
  BAIMO_DISPATCH(binary_bwd, op, a, b, dy, n, da, accumulate_a, db, accumulate_b);
}

void CpuBackend::axpy(float alpha, const float* src, int64_t n, float* dst, bool accumulate) {
  BAIMO_DISPATCH(axpy, alpha, src, n, dst, accumulate);
}

double CpuBackend::sum(const float* x, const float* mask, int64_t n) {
  // Fixed chunking, partial sums in double, combined in chunk order: deterministic.
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0;
    const int64_t i1 = std::min(n, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < i1; ++i) s += mask ? static_cast<double>(x[i]) * mask[i] : x[i];
    part[c] = s;
  }
  double s = 0;
  for (double p : part) s += p;
  return s;
}

void CpuBackend::sum_rows(const float* dy, int64_t M, int64_t N, float* db, bool accumulate) {
  BAIMO_DISPATCH(sum_rows, dy, M, N, db, accumulate);
}

}  // namespace baimo::cpu
