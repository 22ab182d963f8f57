// distill_head_loss (distill_loss.h): per chunk of counted rows (head_chunks.h, shared with the top-k
// op), the student's logits (one GEMM against its head) and the teacher's (weight_matmul /
// weight_matmul_f32 against its frozen head), then one OpenMP pass per row: the log-sum-exps at
// temperature T (and at 1 for the cross-entropy), the divergence, and in backward the gradient written
// over the student's logits in place, pushed to dh (GEMM, scattered back to the rows) and dW (GEMM,
// accumulated over chunks in a fixed order). Sums per row in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/head_chunks.h"

namespace baimo::ag {

namespace {

using detail::lse_scaled;

// One row: the divergence (scaled) and the cross-entropy; with dz != nullptr (may alias zs) writes
// coef * d(div + ce_weight * ce) / dz_s.
void distill_row(const DistillLossOptions& o, const float* zs, const float* zt, int64_t V, int32_t target, double& div,
                 double& ce, float* dz, float coef) {
  const double T = o.temperature, inv = 1.0 / T;
  const bool t1 = o.temperature == 1.0f;  // then softmax(z_s) = q: one log-sum-exp and one exp fewer
  const double lu = lse_scaled(zs, V, inv), lw = lse_scaled(zt, V, inv), l1 = t1 ? lu : lse_scaled(zs, V, 1.0);
  ce = l1 - zs[target];
  // Effective kind: Jsd with beta 0 / 1 is the forward / reverse KL (TRL), unscaled.
  enum { Fkl, Rkl, Mix } kind = Fkl;
  double scale = T * T, b = o.beta;
  if (o.divergence == Divergence::ReverseKl) kind = Rkl;
  if (o.divergence == Divergence::Jsd) {
    scale = 1.0;
    kind = b == 0.0 ? Fkl : b == 1.0 ? Rkl : Mix;
  }
  const double lb = kind == Mix ? std::log(b) : 0.0, l1b = kind == Mix ? std::log1p(-b) : 0.0;
  auto logs = [&](int64_t v, double& ls, double& lt) {
    ls = zs[v] * inv - lu;
    lt = zt[v] * inv - lw;
  };
  auto log_m = [&](double ls, double lt) {
    const double a = lt + lb, c = ls + l1b, mx = std::max(a, c);
    return mx + std::log1p(std::exp(std::min(a, c) - mx));
  };
  double d = 0, S = 0;  // S = sum q g (Rkl, Mix)
  for (int64_t v = 0; v < V; ++v) {
    double ls, lt;
    logs(v, ls, lt);
    const double p = std::exp(lt), q = std::exp(ls);
    if (kind == Fkl) {
      d += p * (lt - ls);
    } else if (kind == Rkl) {
      S += q * (ls - lt);
    } else {
      const double lm = log_m(ls, lt), g = (1 - b) * (ls - lm);
      d += b * p * (lt - lm);
      S += q * g;
    }
  }
  if (kind == Rkl) d = S;
  if (kind == Mix) d += S;  // (1 - b) sum q (ls - lm) = S
  div = d * scale;
  if (!dz) return;
  const double k = coef * scale * inv, kc = coef * static_cast<double>(o.ce_weight);
  for (int64_t v = 0; v < V; ++v) {
    double ls, lt;
    logs(v, ls, lt);
    const double p = std::exp(lt), q = std::exp(ls);
    double du;
    if (kind == Fkl) {
      du = q - p;
    } else if (kind == Rkl) {
      du = q * ((ls - lt) - S);
    } else {
      du = q * ((1 - b) * (ls - log_m(ls, lt)) - S);
    }
    const double sm = (t1 ? q : std::exp(static_cast<double>(zs[v]) - l1)) - (v == target ? 1.0 : 0.0);
    dz[v] = static_cast<float>(k * du + kc * sm);
  }
}

// The teacher side of a chunk: its hidden rows gathered into tb (r, Ct), its logits into zt (r, V).
struct TeacherLogits {
  const detail::StudentRows& s;
  const Tensor& th;
  const WeightMatrix& tw;
  std::vector<float> tb, zt;

  TeacherLogits(const detail::StudentRows& rows, const Tensor& teacher_h, const WeightMatrix& teacher_w)
      : s(rows), th(teacher_h), tw(teacher_w), tb(static_cast<size_t>(rows.chunk * teacher_w.cols)),
        zt(static_cast<size_t>(rows.chunk * rows.V)) {}
  void operator()(int64_t c0, int64_t r) {
    const int64_t Ct = tw.cols;
    const float* ht = th.data<float>();
    for (int64_t i = 0; i < r; ++i)
      std::memcpy(tb.data() + i * Ct, ht + static_cast<int64_t>(s.idx[static_cast<size_t>(c0 + i)]) * Ct,
                  static_cast<size_t>(Ct) * sizeof(float));
    if (tw.type == DType::Q8_0 || tw.type == DType::Q4_0)
      backend().weight_matmul(tw, tb.data(), r, zt.data());
    else
      backend().weight_matmul_f32(tw, tb.data(), r, zt.data());
  }
  const float* row(int64_t i) const { return zt.data() + i * s.V; }
};

detail::StudentRows check_distill(const Var& h, const Var& w, const Tensor& th, const WeightMatrix& tw,
                                  const Tensor& targets, int32_t ignore_index, const DistillLossOptions& o) {
  using namespace detail;
  const char* name = "distill_head_loss";
  StudentRows s = student_rows(name, h, w, targets, ignore_index, o.chunk_rows);
  if (!tw.defined()) fail("{}: the teacher's head ({}, {}) has no data", name, tw.rows, tw.cols);
  if (tw.rows != s.V)
    fail("{}: the teacher's vocabulary ({} head rows) differs from the student's ({})", name, tw.rows, s.V);
  if (!th.defined() || th.dtype() != DType::F32 || th.dim() < 1 || th.size(-1) != tw.cols || rows_of(th) != s.N)
    fail("{}: teacher_h {} must be F32 with {} rows of the teacher head's {} columns", name,
         th.defined() ? th.shape().str() : "(undefined)", s.N, tw.cols);
  check_distill_options(name, o);
  return s;
}

}  // namespace

Var distill_head_loss(const Var& h, const Var& weight, const Tensor& teacher_h, const WeightMatrix& teacher_w,
                      const Tensor& targets, int32_t ignore_index, const DistillLossOptions& opts,
                      DistillLossStats* stats) {
  using namespace detail;
  auto s = std::make_shared<StudentRows>(check_distill(h, weight, teacher_h, teacher_w, targets, ignore_index, opts));
  const int64_t V = s->V;
  double div_sum = 0, ce_sum = 0;
  {
    TeacherLogits t(*s, teacher_h, teacher_w);
    head_chunks_forward(
        *s, h, weight, t,
        [&](int64_t i, int64_t k, const float* zs, double& div, double& ce) {
          distill_row(opts, zs, t.row(i), V, s->kt[static_cast<size_t>(k)], div, ce, nullptr, 0.f);
        },
        div_sum, ce_sum);
  }
  Var y = make_output(head_loss_value(*s, div_sum, ce_sum, opts.ce_weight, stats), should_record(h, weight));
  if (y.requires_grad()) {
    Tensor th = teacher_h;
    WeightMatrix tw = teacher_w;
    tape().record([h, weight, th, tw, y, s, opts] {
      if (!y.has_grad()) return;
      const float g = y.node()->grad.data<float>()[0] / static_cast<float>(std::max<int64_t>(s->count(), 1));
      TeacherLogits t(*s, th, tw);
      head_chunks_backward(*s, h, weight, t, [&](int64_t i, int64_t k, float* zs) {
        double d, ce;
        distill_row(opts, zs, t.row(i), s->V, s->kt[static_cast<size_t>(k)], d, ce, zs, g);
      });
    });
  }
  return y;
}

}  // namespace baimo::ag
