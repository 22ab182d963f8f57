// CpuBackend: the Backend (kernels/backend.h) for x86-64 CPUs. GEMM goes to OpenBLAS
// (cblas_sgemm); every other kernel is ours, OpenMP-parallel, compiled for the AVX2 baseline and
// AVX-512 and picked at run time (cpu_features.h): the training ops in kernels_avx2.cpp /
// kernels_avx512.cpp (from kernels_impl.inc), the inference ops in weight_matmul.h (quantized,
// packed and float weights), team_matmul.h and kv_attention.h.
#pragma once
#include "baimo/kernels/backend.h"

namespace baimo::cpu {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
            const float* B, int64_t ldb, float beta, float* C, int64_t ldc) override;
  void embedding_fwd(const float* W, const int32_t* ids, int64_t n, int64_t C, float* out) override;
  void embedding_bwd(const float* dout, const int32_t* ids, int64_t n, int64_t C, int64_t V, float* dW) override;
  void rmsnorm_fwd(const float* x, const float* w, int64_t rows, int64_t C, float eps, float* y,
                   float* rstd) override;
  void rmsnorm_bwd(const float* dy, const float* x, const float* w, const float* rstd, int64_t rows, int64_t C,
                   float* dx, bool accumulate_x, float* dw, bool accumulate_w) override;
  void rope(const float* x, const int32_t* pos, int64_t B, int64_t T, int64_t H, int64_t D, float theta, bool inverse,
            float* y, bool accumulate) override;
  void attention_fwd(const float* q, const float* k, const float* v, const int32_t* segments, int64_t B, int64_t T,
                     int64_t Hq, int64_t Hkv, int64_t D, float* out, float* lse) override;
  void attention_bwd(const float* dout, const float* q, const float* k, const float* v, const float* out,
                     const float* lse, const int32_t* segments, int64_t B, int64_t T, int64_t Hq, int64_t Hkv,
                     int64_t D, float* dq, float* dk, float* dv, bool accumulate_q, bool accumulate_k,
                     bool accumulate_v) override;
  void swiglu_fwd(const float* gate, const float* up, int64_t n, float* out) override;
  void swiglu_bwd(const float* dout, const float* gate, const float* up, int64_t n, float* dgate, float* dup,
                  bool accumulate_gate, bool accumulate_up) override;
  void logsoftmax_rows(const float* logits, const int32_t* targets, int64_t N, int64_t V, int32_t ignore_index,
                       float* lse, float* picked) override;
  void logsoftmax_pick_bwd(const float* logits, const int32_t* targets, const float* lse, const float* coef, int64_t N,
                           int64_t V, int32_t ignore_index, float* dlogits, bool accumulate) override;
  void logsoftmax_tile_bwd(float* x, const int32_t* targets, const float* lse, const float* coef, int64_t N, int64_t n,
                           int64_t col0, int32_t ignore_index) override;
  void unary(UnaryOp op, const UnaryArgs& args, const float* x, int64_t n, float* y) override;
  void unary_bwd(UnaryOp op, const UnaryArgs& args, const float* x, const float* y, const float* dy, int64_t n,
                 float* dx, bool accumulate) override;
  void binary(BinaryOp op, const float* a, const float* b, int64_t n, float* y) override;
  void binary_bwd(BinaryOp op, const float* a, const float* b, const float* dy, int64_t n, float* da,
                  bool accumulate_a, float* db, bool accumulate_b) override;
  void axpy(float alpha, const float* src, int64_t n, float* dst, bool accumulate) override;
  double sum(const float* x, const float* mask, int64_t n) override;
  void sum_rows(const float* dy, int64_t M, int64_t N, float* db, bool accumulate) override;

  std::shared_ptr<const void> pack_weights(WeightMatrix& w) override;
  void weight_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y) override;
  void weight_matmul_f32(const WeightMatrix& w, const float* x, int64_t batch, float* y) override;
  void weight_matmul_t(const WeightMatrix& w, const float* dy, int64_t batch, float* dx, bool accumulate) override;
  void weight_rows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) override;
  void weight_matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch,
                           std::span<float* const> ys) override;
  void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout) override;
  void team_matmul_plan(TeamPlan& plan, std::span<const WeightMatrix* const> ws, std::span<float* const> ys,
                        int64_t batch, TeamLayout layout, int64_t align, int threads) override;
  int64_t team_step_rows() const override;
  int64_t kv_attention_scratch(int64_t group, int64_t head_dim) override;
  void kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos, const KvView& kv,
                    int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out, float* scratch) override;
  void kv_attention_task(const float* q, int32_t slot, int32_t pos, const KvView& kv, int64_t kv_head, int64_t group,
                         int64_t head_dim, float* out, float* scratch) override;
};

}  // namespace baimo::cpu
