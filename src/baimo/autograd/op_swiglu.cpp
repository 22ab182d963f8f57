// swiglu: out = silu(gate) * up, fused forward and backward (one pass each).
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var swiglu(const Var& gate, const Var& up) {
  using namespace detail;
  require_f32("swiglu", gate, "gate");
  require_f32("swiglu", up, "up");
  if (!(gate.shape() == up.shape())) fail("swiglu: gate {} and up {} differ", gate.shape().str(), up.shape().str());
  const int64_t n = gate.numel();
  Tensor out = alloc(gate.shape());
  backend().swiglu_fwd(gate.value().data<float>(), up.value().data<float>(), n, out.data<float>());
  Var y = make_output(out, should_record(gate, up));
  if (y.requires_grad()) {
    tape().record([gate, up, y, n] {
      if (!y.has_grad()) return;
      bool ag = false, au = false;
      float* dg = gate.requires_grad() ? gate.grad_for_write(ag) : nullptr;
      float* du = up.requires_grad() ? up.grad_for_write(au) : nullptr;
      backend().swiglu_bwd(y.node()->grad.data<float>(), gate.value().data<float>(), up.value().data<float>(), n, dg,
                           du, ag, au);
    });
  }
  return y;
}

}  // namespace baimo::ag
