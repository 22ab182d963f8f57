// attention: fused causal grouped-query attention (flash style). Forward saves out and the
// per-row log-sum-exp; backward recomputes probabilities block by block. Optional segments
// (packed rows) keep each document's queries on its own keys.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

// segments: I32 (B, T), non-decreasing along each row; baimo::Error naming the op otherwise.
void check_segments(const Tensor& segments, int64_t B, int64_t T) {
  detail::require_i32("attention", segments, "segments");
  if (segments.dim() != 2 || segments.size(0) != B || segments.size(1) != T)
    fail("attention: segments {} must be (B, T) = ({}, {})", segments.shape().str(), B, T);
  const int32_t* s = segments.data<int32_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 1; t < T; ++t)
      if (s[b * T + t] < s[b * T + t - 1])
        fail("attention: segments must be non-decreasing along each row, but segments[{}, {}] = {} < "
             "segments[{}, {}] = {}",
             b, t, s[b * T + t], b, t - 1, s[b * T + t - 1]);
}

}  // namespace

Var attention(const Var& q, const Var& k, const Var& v, int64_t n_heads, int64_t n_kv_heads,
              const Tensor* segments) {
  using namespace detail;
  require_f32("attention", q, "q");
  require_f32("attention", k, "k");
  require_f32("attention", v, "v");
  if (q.value().dim() != 3 || k.value().dim() != 3 || v.value().dim() != 3)
    fail("attention: q, k, v must be (B, T, H*D), got {}, {}, {}", q.shape().str(), k.shape().str(), v.shape().str());
  if (n_heads <= 0 || n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    fail("attention: n_heads {} must be a positive multiple of n_kv_heads {}", n_heads, n_kv_heads);
  const int64_t B = q.size(0), T = q.size(1);
  if (q.size(2) % n_heads != 0) fail("attention: q last dim {} not divisible by n_heads {}", q.size(2), n_heads);
  const int64_t D = q.size(2) / n_heads;
  const Shape kv_shape{B, T, n_kv_heads * D};
  if (!(k.shape() == kv_shape) || !(v.shape() == kv_shape))
    fail("attention: k {} and v {} must be {} for q {}", k.shape().str(), v.shape().str(), kv_shape.str(), q.shape().str());
  Tensor seg;  // shares the caller's storage, so the tape closure keeps it alive
  if (segments) {
    check_segments(*segments, B, T);
    seg = *segments;
  }
  Tensor out = alloc(q.shape());
  Tensor lse = alloc({B, n_heads, T});
  const int32_t* sp = seg.defined() ? seg.data<int32_t>() : nullptr;
  backend().attention_fwd(q.value().data<float>(), k.value().data<float>(), v.value().data<float>(), sp, B, T,
                          n_heads, n_kv_heads, D, out.data<float>(), lse.data<float>());
  Var y = make_output(out, should_record(q, k, v));
  if (y.requires_grad()) {
    tape().record([q, k, v, y, lse, seg, B, T, n_heads, n_kv_heads, D] {
      if (!y.has_grad()) return;
      bool aq = false, ak = false, av = false;
      float* dq = q.requires_grad() ? q.grad_for_write(aq) : nullptr;
      float* dk = k.requires_grad() ? k.grad_for_write(ak) : nullptr;
      float* dv = v.requires_grad() ? v.grad_for_write(av) : nullptr;
      backend().attention_bwd(y.node()->grad.data<float>(), q.value().data<float>(), k.value().data<float>(),
                              v.value().data<float>(), y.value().data<float>(), lse.data<float>(),
                              seg.defined() ? seg.data<int32_t>() : nullptr, B, T, n_heads, n_kv_heads, D, dq, dk,
                              dv, aq, ak, av);
    });
  }
  return y;
}

}  // namespace baimo::ag
