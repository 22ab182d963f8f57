// topk_distill_head_loss (topk_distill_loss.h): the chunk loop of head_chunks.h (the student's logits a
// chunk of counted rows at a time, recomputed in backward); per row, one pass over V for the student's
// log-sum-exps and its mass off the top-k (the k ids sorted, walked along), k + 1 terms for the divergence,
// and in backward one pass writing the gradient over the logits in place, the k top-k entries written last
// (each value rounded to float once). Sums per row in double.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "baimo/autograd/head_chunks.h"
#include "baimo/autograd/topk_distill_loss.h"

namespace baimo::ag {

namespace {

// One row: the divergence (scaled by T^2) and the cross-entropy; with dz != nullptr (may alias zs) writes
// coef * d(div + ce_weight * ce) / dz_s.
void sparse_kl_row(const DistillLossOptions& o, const float* zs, const int32_t* ids, const float* lp, float tail,
                   int64_t k, int64_t V, int32_t target, double& div, double& ce, float* dz, float coef) {
  const double T = o.temperature, inv = 1.0 / T;
  const bool t1 = o.temperature == 1.0f;
  std::vector<int32_t> in_k(ids, ids + k);
  std::sort(in_k.begin(), in_k.end());
  float m = -INFINITY;
  for (int64_t v = 0; v < V; ++v) m = std::max(m, zs[v]);
  double all = 0, rest = 0;  // sum_v exp((z_v - m) / T), and off the top-k
  for (int64_t v = 0, j = 0; v < V; ++v) {
    const double e = std::exp((static_cast<double>(zs[v]) - m) * inv);
    all += e;
    if (j < k && in_k[static_cast<size_t>(j)] == v)
      ++j;
    else
      rest += e;
  }
  const double lu = m * inv + std::log(all), l1 = t1 ? lu : detail::lse_scaled(zs, V, 1.0);
  const double q_rest = rest / all;
  ce = l1 - zs[target];
  double d = 0;
  for (int64_t i = 0; i < k; ++i) d += std::exp(static_cast<double>(lp[i])) * (lp[i] - (zs[ids[i]] * inv - lu));
  if (tail > 0) d += tail * (std::log(static_cast<double>(tail)) - std::log(std::max(q_rest, DBL_MIN)));
  div = d * T * T;
  if (!dz) return;
  const double kd = coef * T, kc = coef * static_cast<double>(o.ce_weight);
  const double spread = tail > 0 && q_rest > 0 ? tail / q_rest : 0.0;  // p~ = spread q off the top-k
  auto parts = [&](int64_t v, double& q, double& sm) {  // from the unmodified logit
    q = std::exp(zs[v] * inv - lu);
    sm = (t1 ? q : std::exp(static_cast<double>(zs[v]) - l1)) - (v == target ? 1.0 : 0.0);
  };
  std::vector<double> top(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    double q, sm;
    parts(ids[i], q, sm);
    top[static_cast<size_t>(i)] = kd * (q - std::exp(static_cast<double>(lp[i]))) + kc * sm;
  }
  for (int64_t v = 0; v < V; ++v) {
    double q, sm;
    parts(v, q, sm);
    dz[v] = static_cast<float>(kd * q * (1.0 - spread) + kc * sm);
  }
  for (int64_t i = 0; i < k; ++i) dz[ids[i]] = static_cast<float>(top[static_cast<size_t>(i)]);
}

int64_t check_topk(const detail::StudentRows& s, const Tensor& ids, const Tensor& lp, const Tensor& tail,
                   const DistillLossOptions& o) {
  using namespace detail;
  const char* name = "topk_distill_head_loss";
  check_distill_options(name, o);
  if (o.divergence != Divergence::ForwardKl)
    fail("{}: only the forward KL has a top-k form (reverse KL and JSD need the teacher's whole distribution)", name);
  require_i32(name, ids, "topk_ids");
  if (!lp.defined() || lp.dtype() != DType::F32) fail("{}: topk_logprobs must be F32", name);
  if (ids.dim() != 2 || lp.shape() != ids.shape() || ids.size(0) != s.count())
    fail("{}: topk_ids {} and topk_logprobs {} must both be ({}, k): one row per counted target", name,
         ids.shape().str(), lp.shape().str(), s.count());
  const int64_t k = ids.size(1);
  if (k < 1 || k > s.V) fail("{}: k = {} must be within [1, V = {}]", name, k, s.V);
  if (!tail.defined() || tail.dtype() != DType::F32 || tail.numel() != s.count())
    fail("{}: tail {} must be F32 with one entry per counted target ({})", name,
         tail.defined() ? tail.shape().str() : "(undefined)", s.count());
  const int32_t* id = ids.data<int32_t>();
  const float* l = lp.data<float>();
  const float* rest = tail.data<float>();
  std::vector<int32_t> sorted(static_cast<size_t>(k));
  for (int64_t r = 0; r < s.count(); ++r) {
    double mass = rest[r];
    for (int64_t i = 0; i < k; ++i) {
      const int32_t x = id[r * k + i];
      if (x < 0 || x >= s.V) fail("{}: topk_ids[{}, {}] = {} is outside [0, {})", name, r, i, x, s.V);
      if (!std::isfinite(l[r * k + i])) fail("{}: topk_logprobs[{}, {}] = {} is not finite", name, r, i, l[r * k + i]);
      sorted[static_cast<size_t>(i)] = x;
      mass += std::exp(static_cast<double>(l[r * k + i]));
    }
    if (!(rest[r] >= 0 && rest[r] <= 1)) fail("{}: tail[{}] = {} is not a probability", name, r, rest[r]);
    if (!(std::fabs(mass - 1) <= 1e-3))
      fail("{}: row {}: the top-k probabilities and the tail sum to {}, not 1", name, r, mass);
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      fail("{}: topk_ids row {} lists a token twice", name, r);
  }
  return k;
}

}  // namespace

Var topk_distill_head_loss(const Var& h, const Var& weight, const Tensor& topk_ids, const Tensor& topk_logprobs,
                           const Tensor& tail, const Tensor& targets, int32_t ignore_index,
                           const DistillLossOptions& opts, DistillLossStats* stats) {
  using namespace detail;
  auto s = std::make_shared<StudentRows>(
      student_rows("topk_distill_head_loss", h, weight, targets, ignore_index, opts.chunk_rows));
  const int64_t k = check_topk(*s, topk_ids, topk_logprobs, tail, opts), V = s->V;
  const int32_t* ids = topk_ids.data<int32_t>();
  const float* lp = topk_logprobs.data<float>();
  const float* rest = tail.data<float>();
  auto no_teacher = [](int64_t, int64_t) {};
  double div_sum = 0, ce_sum = 0;
  head_chunks_forward(
      *s, h, weight, no_teacher,
      [&](int64_t, int64_t j, const float* zs, double& div, double& ce) {
        sparse_kl_row(opts, zs, ids + j * k, lp + j * k, rest[j], k, V, s->kt[static_cast<size_t>(j)], div, ce, nullptr,
                      0.f);
      },
      div_sum, ce_sum);
  Var y = make_output(head_loss_value(*s, div_sum, ce_sum, opts.ce_weight, stats), should_record(h, weight));
  if (y.requires_grad()) {
    Tensor ti = topk_ids, tl = topk_logprobs, tt = tail;
    tape().record([h, weight, ti, tl, tt, y, s, k, opts] {
      if (!y.has_grad()) return;
      const float g = y.node()->grad.data<float>()[0] / static_cast<float>(std::max<int64_t>(s->count(), 1));
      const int32_t* ids = ti.data<int32_t>();
      const float* lp = tl.data<float>();
      const float* rest = tt.data<float>();
      head_chunks_backward(*s, h, weight, [](int64_t, int64_t) {}, [&](int64_t, int64_t j, float* zs) {
        double d, ce;
        sparse_kl_row(opts, zs, ids + j * k, lp + j * k, rest[j], k, s->V, s->kt[static_cast<size_t>(j)], d, ce, zs, g);
      });
    });
  }
  return y;
}

}  // namespace baimo::ag
