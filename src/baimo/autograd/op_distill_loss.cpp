// distill_head_loss (distill_loss.h): per chunk of counted rows, the student's logits (one GEMM
// against its head) and the teacher's (weight_matmul / weight_matmul_f32 against its frozen head),
// then one OpenMP pass per row: the log-sum-exps at temperature T (and at 1 for the cross-entropy),
// the divergence, and in backward the gradient written over the student's logits in place, pushed to
// dh (GEMM, scattered back to the rows) and dW (GEMM, accumulated over chunks in a fixed order).
// Sums per row in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/op_util.h"

namespace baimo::ag {

namespace {

constexpr int64_t kChunkFloats = int64_t{1} << 20;  // ~4 MB of logits per model and chunk
constexpr int64_t kParallelFloats = int64_t{1} << 15;  // smaller chunks: one thread (no region to start)

struct Setup {
  DistillLossOptions o;
  int64_t V = 0, C = 0, Ct = 0, N = 0;
  std::vector<int32_t> idx, kt;  // counted rows of h and their targets
  int64_t chunk = 1;
};

// log-sum-exp of x[0..V) * s, in double.
double lse_scaled(const float* x, int64_t V, double s) {
  float m = -INFINITY;
  for (int64_t v = 0; v < V; ++v) m = std::max(m, x[v]);
  double acc = 0;
  for (int64_t v = 0; v < V; ++v) acc += std::exp((static_cast<double>(x[v]) - m) * s);
  return m * s + std::log(acc);
}

// One row: the divergence (scaled) and the cross-entropy; with dz != nullptr (may alias zs) writes
// coef * d(div + ce_weight * ce) / dz_s.
void row(const DistillLossOptions& o, const float* zs, const float* zt, int64_t V, int32_t target, double& div,
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

// Logits of rows ix[c0 .. c0 + r): student into zs (r, V), teacher into zt (r, V); hb (r, C) keeps the
// gathered student rows.
void chunk_logits(const Setup& s, const Var& h, const Var& w, const Tensor& th, const WeightMatrix& tw, int64_t c0,
                  int64_t r, float* hb, float* tb, float* zs, float* zt) {
  const float* hs = h.value().data<float>();
  const float* ht = th.data<float>();
  for (int64_t i = 0; i < r; ++i) {
    const int64_t row = s.idx[static_cast<size_t>(c0 + i)];
    std::memcpy(hb + i * s.C, hs + row * s.C, static_cast<size_t>(s.C) * sizeof(float));
    std::memcpy(tb + i * s.Ct, ht + row * s.Ct, static_cast<size_t>(s.Ct) * sizeof(float));
  }
  backend().gemm(false, true, r, s.V, s.C, 1.f, hb, s.C, w.value().data<float>(), s.C, 0.f, zs, s.V);
  if (tw.type == DType::Q8_0 || tw.type == DType::Q4_0)
    backend().weight_matmul(tw, tb, r, zt);
  else
    backend().weight_matmul_f32(tw, tb, r, zt);
}

Setup check(const Var& h, const Var& w, const Tensor& th, const WeightMatrix& tw, const Tensor& targets,
            int32_t ignore_index, const DistillLossOptions& o) {
  using namespace detail;
  const char* name = "distill_head_loss";
  require_f32(name, h, "h");
  require_f32(name, w, "weight");
  require_i32(name, targets, "targets");
  if (w.value().dim() != 2) fail("{}: weight must be (V, C), got {}", name, w.shape().str());
  Setup s;
  s.o = o;
  s.V = w.size(0);
  s.C = w.size(1);
  if (h.value().dim() < 1 || h.size(-1) != s.C)
    fail("{}: h {} does not end in the weight's C of {}", name, h.shape().str(), w.shape().str());
  s.N = rows_of(h.value());
  if (!tw.defined()) fail("{}: the teacher's head ({}, {}) has no data", name, tw.rows, tw.cols);
  if (tw.rows != s.V)
    fail("{}: the teacher's vocabulary ({} head rows) differs from the student's ({})", name, tw.rows, s.V);
  if (!th.defined() || th.dtype() != DType::F32 || th.dim() < 1 || th.size(-1) != tw.cols || rows_of(th) != s.N)
    fail("{}: teacher_h {} must be F32 with {} rows of the teacher head's {} columns", name,
         th.defined() ? th.shape().str() : "(undefined)", s.N, tw.cols);
  s.Ct = tw.cols;
  if (targets.numel() != s.N) fail("{}: targets {} must have one entry per row of h {}", name, targets.shape().str(), h.shape().str());
  if (!(o.temperature > 0) || !std::isfinite(o.temperature)) fail("{}: temperature {} must be > 0", name, o.temperature);
  if (!(o.beta >= 0 && o.beta <= 1)) fail("{}: beta {} must be in [0, 1]", name, o.beta);
  if (!(o.ce_weight >= 0) || !std::isfinite(o.ce_weight)) fail("{}: ce_weight {} must be >= 0", name, o.ce_weight);
  if (o.chunk_rows < 0) fail("{}: chunk_rows {} must be >= 0", name, o.chunk_rows);
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < s.N; ++r) {
    if (t[r] == ignore_index) continue;
    if (t[r] < 0 || t[r] >= s.V) fail("{}: target {} at row {} is outside [0, {}) and not the ignore index {}", name, t[r], r, s.V, ignore_index);
    s.idx.push_back(static_cast<int32_t>(r));
    s.kt.push_back(t[r]);
  }
  const int64_t kept = static_cast<int64_t>(s.idx.size());
  s.chunk = std::max<int64_t>(1, std::min<int64_t>(o.chunk_rows ? o.chunk_rows : kChunkFloats / s.V, std::max<int64_t>(kept, 1)));
  return s;
}

void backward(const Setup& s, const Var& h, const Var& w, const Tensor& th, const WeightMatrix& tw, float coef) {
  const int64_t kept = static_cast<int64_t>(s.idx.size()), V = s.V, C = s.C, r0 = s.chunk;
  bool acc_h = false, acc_w = false;
  float* dh = h.requires_grad() ? h.grad_for_write(acc_h) : nullptr;
  float* dW = w.requires_grad() ? w.grad_for_write(acc_w) : nullptr;
  if (dh && !acc_h) std::fill(dh, dh + s.N * C, 0.f);
  if (dW && !acc_w) std::fill(dW, dW + V * C, 0.f);
  if (kept == 0 || (!dh && !dW)) return;
  std::vector<float> hb(static_cast<size_t>(r0 * C)), tb(static_cast<size_t>(r0 * s.Ct)),
      zs(static_cast<size_t>(r0 * V)), zt(static_cast<size_t>(r0 * V)), dhb(static_cast<size_t>(r0 * C));
  for (int64_t c0 = 0; c0 < kept; c0 += r0) {
    const int64_t r = std::min(r0, kept - c0);
    chunk_logits(s, h, w, th, tw, c0, r, hb.data(), tb.data(), zs.data(), zt.data());
#pragma omp parallel for schedule(static) if (r * V >= kParallelFloats)
    for (int64_t i = 0; i < r; ++i) {
      double d, ce;
      float* z = zs.data() + i * V;
      row(s.o, z, zt.data() + i * V, V, s.kt[static_cast<size_t>(c0 + i)], d, ce, z, coef);
    }
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

}  // namespace

Var distill_head_loss(const Var& h, const Var& weight, const Tensor& teacher_h, const WeightMatrix& teacher_w,
                      const Tensor& targets, int32_t ignore_index, const DistillLossOptions& opts,
                      DistillLossStats* stats) {
  using namespace detail;
  auto s = std::make_shared<Setup>(check(h, weight, teacher_h, teacher_w, targets, ignore_index, opts));
  const int64_t kept = static_cast<int64_t>(s->idx.size()), V = s->V, r0 = s->chunk;
  double div_sum = 0, ce_sum = 0;
  if (kept > 0) {
    std::vector<float> hb(static_cast<size_t>(r0 * s->C)), tb(static_cast<size_t>(r0 * s->Ct)),
        zs(static_cast<size_t>(r0 * V)), zt(static_cast<size_t>(r0 * V));
    std::vector<double> div(static_cast<size_t>(r0)), ce(static_cast<size_t>(r0));
    for (int64_t c0 = 0; c0 < kept; c0 += r0) {
      const int64_t r = std::min(r0, kept - c0);
      chunk_logits(*s, h, weight, teacher_h, teacher_w, c0, r, hb.data(), tb.data(), zs.data(), zt.data());
#pragma omp parallel for schedule(static) if (r * V >= kParallelFloats)
      for (int64_t i = 0; i < r; ++i)
        row(s->o, zs.data() + i * V, zt.data() + i * V, V, s->kt[static_cast<size_t>(c0 + i)],
            div[static_cast<size_t>(i)], ce[static_cast<size_t>(i)], nullptr, 0.f);
      for (int64_t i = 0; i < r; ++i) {  // fixed order: deterministic
        div_sum += div[static_cast<size_t>(i)];
        ce_sum += ce[static_cast<size_t>(i)];
      }
    }
  }
  const double n = static_cast<double>(std::max<int64_t>(kept, 1));
  if (stats) *stats = {static_cast<float>(div_sum / n), static_cast<float>(ce_sum / n), kept};
  Tensor out = alloc({1});
  out.data<float>()[0] = kept ? static_cast<float>((div_sum + opts.ce_weight * ce_sum) / n) : 0.f;
  Var y = make_output(out, should_record(h, weight));
  if (y.requires_grad()) {
    Tensor th = teacher_h;
    WeightMatrix tw = teacher_w;
    tape().record([h, weight, th, tw, y, s] {
      if (!y.has_grad()) return;
      const float g = y.node()->grad.data<float>()[0] / static_cast<float>(std::max<size_t>(s->idx.size(), 1));
      backward(*s, h, weight, th, tw, g);
    });
  }
  return y;
}

}  // namespace baimo::ag
