// CpuBackend's inference ops: the quantized / packed / float weight products and the KV-cache
// attention, forwarded to their CPU kernels at the best ISA level (one call per product or
// attention; the kernels dispatch once per call, never per row).
#include "baimo/kernels/cpu/cpu_backend.h"
#include "baimo/kernels/cpu/dequant_gemm.h"
#include "baimo/kernels/cpu/kv_attention.h"
#include "baimo/kernels/cpu/team_matmul.h"
#include "baimo/kernels/cpu/weight_matmul.h"
#include "baimo/kernels/cpu/weight_pack.h"

namespace baimo::cpu {

std::shared_ptr<const void> CpuBackend::pack_weights(WeightMatrix& w) {
  if (!cpu::packable(w)) return nullptr;
  // Without VBMI the 2:4 kernel would be the scalar one: run such a matrix as dense Q8_0 instead.
  if (w.type == DType::Q8_0_S24 && !cpu::cpu_has_avx512_vbmi()) return cpu::pack_expanded_q8_0(w);
  return cpu::pack_weights_into(w);
}

void CpuBackend::weight_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y) {
  cpu::weight_matmul(w, x, batch, y);
}

void CpuBackend::weight_matmul_f32(const WeightMatrix& w, const float* x, int64_t batch, float* y) {
  cpu::dequant_matmul(w, x, batch, y);
}

void CpuBackend::weight_matmul_t(const WeightMatrix& w, const float* dy, int64_t batch, float* dx, bool accumulate) {
  cpu::dequant_matmul_t(w, dy, batch, dx, accumulate);
}

void CpuBackend::weight_rows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) {
  cpu::dequantize_rows(w, ids, n, out);
}

void CpuBackend::weight_matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch,
                                     std::span<float* const> ys) {
  cpu::weight_matmul_multi(ws, x, batch, ys);
}

void CpuBackend::team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout) {
  cpu::team_matmul_check(ws, layout);
}

void CpuBackend::team_matmul_plan(TeamPlan& plan, std::span<const WeightMatrix* const> ws,
                                  std::span<float* const> ys, int64_t batch, TeamLayout layout, int64_t align,
                                  int threads) {
  cpu::team_matmul_plan(plan, ws, ys, batch, layout, align, threads);
}

int64_t CpuBackend::team_step_rows() const { return cpu::best_isa() >= cpu::CpuIsa::Avx512Bw ? 32 : 16; }

int64_t CpuBackend::kv_attention_scratch(int64_t group, int64_t head_dim) {
  return cpu::kv_attention_scratch(group, head_dim);
}

void CpuBackend::kv_attention(const float* q, int64_t rows, const int32_t* row_slot, const int32_t* row_pos,
                              const KvView& kv, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float* out,
                              float* scratch) {
  cpu::kv_attention(q, rows, row_slot, row_pos, kv, n_heads, n_kv_heads, head_dim, out, scratch);
}

void CpuBackend::kv_attention_task(const float* q, int32_t slot, int32_t pos, const KvView& kv, int64_t kv_head,
                                   int64_t group, int64_t head_dim, float* out, float* scratch) {
  cpu::kv_attention_task(q, slot, pos, kv, kv_head, group, head_dim, out, scratch);
}

}  // namespace baimo::cpu
