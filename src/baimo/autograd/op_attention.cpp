// attention: fused causal grouped-query attention (flash style). Forward saves out and the
// per-row log-sum-exp; backward recomputes probabilities block by block.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var attention(const Var& q, const Var& k, const Var& v, int64_t n_heads, int64_t n_kv_heads) {
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
  Tensor out = alloc(q.shape());
  Tensor lse = alloc({B, n_heads, T});
  backend().attention_fwd(q.value().data<float>(), k.value().data<float>(), v.value().data<float>(), B, T, n_heads,
                          n_kv_heads, D, out.data<float>(), lse.data<float>());
  Var y = make_output(out, should_record(q, k, v));
  if (y.requires_grad()) {
    tape().record([q, k, v, y, lse, B, T, n_heads, n_kv_heads, D] {
      if (!y.has_grad()) return;
      bool aq = false, ak = false, av = false;
      float* dq = q.requires_grad() ? q.grad_for_write(aq) : nullptr;
      float* dk = k.requires_grad() ? k.grad_for_write(ak) : nullptr;
      float* dv = v.requires_grad() ? v.grad_for_write(av) : nullptr;
      backend().attention_bwd(y.node()->grad.data<float>(), q.value().data<float>(), k.value().data<float>(),
                              v.value().data<float>(), y.value().data<float>(), lse.data<float>(), B, T, n_heads,
                              n_kv_heads, D, dq, dk, dv, aq, ak, av);
    });
  }
  return y;
}

}  // namespace baimo::ag
