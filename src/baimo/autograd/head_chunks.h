// Internal to the distillation ops (op_distill_loss.cpp, op_topk_distill_loss.cpp; not public API): a loss
// summed row by row over the counted rows of a student's f32 LM head, without its (rows, V) logits whole.
// - student_rows(op, h (..., C), weight (V, C), targets I32 (N), ignore_index, chunk_rows): checks the three
//   (errors name `op` and the shapes), gathers the counted rows (target != ignore_index) in row order and
//   their targets, and fixes the chunk: chunk_rows counted rows, 0 = about 2^20 / V (~4 MB of logits).
// - check_distill_options(op, o): temperature > 0, beta in [0, 1], ce_weight >= 0, chunk_rows >= 0.
// - head_chunks_forward(s, h, w, teacher, row, div_sum, ce_sum): per chunk of counted rows [c0, c0 + r):
//   zs (r, V) = h[idx] W^T (one GEMM), then teacher(c0, r) (the chunk's teacher side), then
//   row(i, k, zs + i V, div, ce) for each row i of the chunk, k = c0 + i its counted index (OpenMP when the
//   chunk is large, so `row` must only read shared state), summed in row order (deterministic).
// - head_chunks_backward(s, h, w, teacher, grad): the same chunks and products again; grad(i, k, zs + i V)
//   overwrites the row with d loss / d z_s (already scaled); then dh[idx] += G W and dW += G^T h[idx],
//   chunk after chunk in a fixed order. Ignored rows get no gradient.
// - lse_scaled(x, V, s): log sum_v exp(x[v] s), in double.
// - head_loss_value(s, div_sum, ce_sum, ce_weight, stats): the op's (1) output, the mean over counted rows
//   of div + ce_weight * ce (0 without counted rows), and `stats` (optional) the means of each part.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/op_util.h"

namespace baimo::ag::detail {

inline constexpr int64_t kHeadChunkFloats = int64_t{1} << 20;   // ~4 MB of logits per model and chunk
inline constexpr int64_t kHeadParallelFloats = int64_t{1} << 15;  // smaller chunks: one thread (no region)

struct StudentRows {
  int64_t V = 0, C = 0, N = 0;
  std::vector<int32_t> idx, kt;  // counted rows of h and their targets
  int64_t chunk = 1;
  int64_t count() const { return static_cast<int64_t>(idx.size()); }
};

inline StudentRows student_rows(const char* name, const Var& h, const Var& w, const Tensor& targets,
                                int32_t ignore_index, int64_t chunk_rows) {
  require_f32(name, h, "h");
  require_f32(name, w, "weight");
  require_i32(name, targets, "targets");
  if (w.value().dim() != 2) fail("{}: weight must be (V, C), got {}", name, w.shape().str());
  StudentRows s;
  s.V = w.size(0);
  s.C = w.size(1);
  if (h.value().dim() < 1 || h.size(-1) != s.C)
    fail("{}: h {} does not end in the weight's C of {}", name, h.shape().str(), w.shape().str());
  s.N = rows_of(h.value());
  if (targets.numel() != s.N)
    fail("{}: targets {} must have one entry per row of h {}", name, targets.shape().str(), h.shape().str());
  if (chunk_rows < 0) fail("{}: chunk_rows {} must be >= 0", name, chunk_rows);
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < s.N; ++r) {
    if (t[r] == ignore_index) continue;
    if (t[r] < 0 || t[r] >= s.V)
      fail("{}: target {} at row {} is outside [0, {}) and not the ignore index {}", name, t[r], r, s.V, ignore_index);
    s.idx.push_back(static_cast<int32_t>(r));
    s.kt.push_back(t[r]);
  }
  s.chunk = std::max<int64_t>(
      1, std::min<int64_t>(chunk_rows ? chunk_rows : kHeadChunkFloats / s.V, std::max<int64_t>(s.count(), 1)));
  return s;
}

inline void check_distill_options(const char* name, const DistillLossOptions& o) {
  if (!(o.temperature > 0) || !std::isfinite(o.temperature)) fail("{}: temperature {} must be > 0", name, o.temperature);
  if (!(o.beta >= 0 && o.beta <= 1)) fail("{}: beta {} must be in [0, 1]", name, o.beta);
  if (!(o.ce_weight >= 0) || !std::isfinite(o.ce_weight)) fail("{}: ce_weight {} must be >= 0", name, o.ce_weight);
}

inline double lse_scaled(const float* x, int64_t V, double s) {
  float m = -INFINITY;
  for (int64_t v = 0; v < V; ++v) m = std::max(m, x[v]);
  double acc = 0;
  for (int64_t v = 0; v < V; ++v) acc += std::exp((static_cast<double>(x[v]) - m) * s);
  return m * s + std::log(acc);
}

inline Tensor head_loss_value(const StudentRows& s, double div_sum, double ce_sum, float ce_weight,
                              DistillLossStats* stats) {
  const int64_t kept = s.count();
  const double n = static_cast<double>(std::max<int64_t>(kept, 1));
  if (stats) *stats = {static_cast<float>(div_sum / n), static_cast<float>(ce_sum / n), kept};
  Tensor out = alloc({1});
  out.data<float>()[0] = kept ? static_cast<float>((div_sum + ce_weight * ce_sum) / n) : 0.f;
  return out;
}

// zs (r, V) = rows idx[c0 .. c0 + r) of h, gathered into hb (r, C), times W^T.
inline void student_chunk_logits(const StudentRows& s, const Var& h, const Var& w, int64_t c0, int64_t r, float* hb,
                                 float* zs) {
  const float* hs = h.value().data<float>();
  for (int64_t i = 0; i < r; ++i)
    std::memcpy(hb + i * s.C, hs + static_cast<int64_t>(s.idx[static_cast<size_t>(c0 + i)]) * s.C,
                static_cast<size_t>(s.C) * sizeof(float));
  backend().gemm(false, true, r, s.V, s.C, 1.f, hb, s.C, w.value().data<float>(), s.C, 0.f, zs, s.V);
}

template <class Teacher, class Row>
void head_chunks_forward(const StudentRows& s, const Var& h, const Var& w, Teacher&& teacher, Row&& row,
                         double& div_sum, double& ce_sum) {
  div_sum = ce_sum = 0;
  const int64_t kept = s.count(), V = s.V, r0 = s.chunk;
  if (kept == 0) return;
  std::vector<float> hb(static_cast<size_t>(r0 * s.C)), zs(static_cast<size_t>(r0 * V));
  std::vector<double> div(static_cast<size_t>(r0)), ce(static_cast<size_t>(r0));
  for (int64_t c0 = 0; c0 < kept; c0 += r0) {
    const int64_t r = std::min(r0, kept - c0);
    student_chunk_logits(s, h, w, c0, r, hb.data(), zs.data());
    teacher(c0, r);
#pragma omp parallel for schedule(static) if (r * V >= kHeadParallelFloats)
    for (int64_t i = 0; i < r; ++i) row(i, c0 + i, zs.data() + i * V, div[static_cast<size_t>(i)], ce[static_cast<size_t>(i)]);
    for (int64_t i = 0; i < r; ++i) {  // fixed order: deterministic
      div_sum += div[static_cast<size_t>(i)];
      ce_sum += ce[static_cast<size_t>(i)];
    }
  }
}

template <class Teacher, class Grad>
void head_chunks_backward(const StudentRows& s, const Var& h, const Var& w, Teacher&& teacher, Grad&& grad) {
  const int64_t kept = s.count(), V = s.V, C = s.C, r0 = s.chunk;
  bool acc_h = false, acc_w = false;
  float* dh = h.requires_grad() ? h.grad_for_write(acc_h) : nullptr;
  float* dW = w.requires_grad() ? w.grad_for_write(acc_w) : nullptr;
  if (dh && !acc_h) std::fill(dh, dh + s.N * C, 0.f);
  if (dW && !acc_w) std::fill(dW, dW + V * C, 0.f);
  if (kept == 0 || (!dh && !dW)) return;
  std::vector<float> hb(static_cast<size_t>(r0 * C)), zs(static_cast<size_t>(r0 * V)), dhb(static_cast<size_t>(r0 * C));
  for (int64_t c0 = 0; c0 < kept; c0 += r0) {
    const int64_t r = std::min(r0, kept - c0);
    student_chunk_logits(s, h, w, c0, r, hb.data(), zs.data());
    teacher(c0, r);
#pragma omp parallel for schedule(static) if (r * V >= kHeadParallelFloats)
    for (int64_t i = 0; i < r; ++i) grad(i, c0 + i, zs.data() + i * V);
    if (dh) {
      backend().gemm(false, false, r, C, V, 1.f, zs.data(), V, w.value().data<float>(), C, 0.f, dhb.data(), C);
      for (int64_t i = 0; i < r; ++i) {
        float* dst = dh + static_cast<int64_t>(s.idx[static_cast<size_t>(c0 + i)]) * C;
        const float* src = dhb.data() + i * C;
        for (int64_t j = 0; j < C; ++j) dst[j] += src[j];
      }
    }
    if (dW) backend().gemm(true, false, V, C, r, 1.f, zs.data(), V, hb.data(), C, 1.f, dW, C);
  }
}

}  // namespace baimo::ag::detail
